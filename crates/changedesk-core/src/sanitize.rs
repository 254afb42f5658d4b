//! Message bodies are third-party HTML: everything the API or the UI hands
//! out is cleaned first. Scripts, styles, event handlers, frames, forms and
//! `javascript:`/`data:` URLs go; links keep `http`, `https` and `mailto`
//! and open with `rel="noopener noreferrer"`.

use std::sync::OnceLock;

/// A post body, safe to insert into a page.
pub fn body(html: &str) -> String {
    static CLEANER: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    CLEANER
        .get_or_init(|| {
            let mut b = ammonia::Builder::default();
            b.url_schemes(["http", "https", "mailto"].into_iter().collect())
                .link_rel(Some("noopener noreferrer"))
                .rm_tags(["img"]);
            b
        })
        .clean(html)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::body;

    #[test]
    fn hostile_markup_is_inert() {
        let dirty = r#"<p onclick="x()">Hi<script>alert(1)</script><iframe src="https://evil"></iframe>
            <a href="javascript:alert(1)">j</a><a href="data:text/html,x">d</a><style>p{}</style>
            <a href="https://learn.microsoft.com/x">ok</a><img src="https://tracker/x.png"></p>"#;
        let clean = body(dirty);
        for bad in [
            "script",
            "onclick",
            "iframe",
            "javascript:",
            "data:",
            "<style",
            "<img",
        ] {
            assert!(!clean.contains(bad), "{bad} survived: {clean}");
        }
        assert!(
            clean.contains(r#"href="https://learn.microsoft.com/x""#),
            "{clean}"
        );
        assert!(clean.contains("noopener"), "{clean}");
    }
}
