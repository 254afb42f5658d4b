//! Bar charts drawn on the server as SVG (the reports page): readable without
//! JavaScript, every bar titled with its value, and always beside a table of
//! the same figures (the page's business). Text is escaped here; the SVG is
//! inserted into the page as it is.

use changedesk_core::text::escape_html;

/// One series of bars: its name, a CSS class (its colour) and one value per
/// label.
pub(crate) struct Series<'a> {
    pub name: &'a str,
    pub class: &'a str,
    pub values: Vec<f64>,
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 200.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 34.0;

/// The smallest "nice" number (1, 2 or 5 times a power of ten) at least
/// `v`, and at least 1.
fn nice_ceiling(v: f64) -> f64 {
    if !v.is_finite() || v <= 1.0 {
        return 1.0;
    }
    let mut step = 1.0;
    while step * 10.0 <= v {
        step *= 10.0;
    }
    for m in [1.0, 2.0, 5.0, 10.0] {
        if step * m >= v {
            return step * m;
        }
    }
    step * 10.0
}

/// A value for people: whole numbers without decimals, others with one.
pub(crate) fn number(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        format!("{v:.1}")
    }
}

/// A bar chart of `series` over `labels` (grouped bars when there are
/// several series), titled `title`, values in `unit`. Labels are shown at
/// most every few bars so that they never overlap.
pub(crate) fn bars(title: &str, labels: &[String], series: &[Series<'_>], unit: &str) -> String {
    let n = labels.len().max(1);
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max);
    let top = nice_ceiling(max);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let group = plot_w / n as f64;
    let bar = group / (series.len() as f64 + 1.0);
    let y = |v: f64| TOP + plot_h - (v.clamp(0.0, top) / top) * plot_h;
    let mut out = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"{}\" \
         xmlns=\"http://www.w3.org/2000/svg\">",
        escape_html(title)
    );
    // the axis and three grid lines with their values
    for t in [0.0, top / 2.0, top] {
        let yy = y(t);
        out.push_str(&format!(
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\"/>\
             <text class=\"tick\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            WIDTH - RIGHT,
            LEFT - 4.0,
            yy + 4.0,
            escape_html(&number(t))
        ));
    }
    let every = (n as f64 / 8.0).ceil().max(1.0) as usize;
    for (i, label) in labels.iter().enumerate() {
        let x0 = LEFT + group * i as f64;
        for (k, s) in series.iter().enumerate() {
            let v = s.values.get(i).copied().unwrap_or(0.0);
            let v = if v.is_finite() { v.max(0.0) } else { 0.0 };
            let x = x0 + bar * (k as f64 + 0.5);
            let yy = y(v);
            out.push_str(&format!(
                "<rect class=\"{}\" x=\"{x:.1}\" y=\"{yy:.1}\" width=\"{:.1}\" height=\"{:.1}\">\
                 <title>{}: {} {} {}</title></rect>",
                escape_html(s.class),
                bar.max(1.0),
                (TOP + plot_h - yy).max(0.0),
                escape_html(label),
                escape_html(s.name),
                escape_html(&number(v)),
                escape_html(unit),
            ));
        }
        if i % every == 0 {
            out.push_str(&format!(
                "<text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                x0 + group / 2.0,
                HEIGHT - BOTTOM + 14.0,
                escape_html(label)
            ));
        }
    }
    // the legend
    let mut lx = LEFT;
    for s in series {
        out.push_str(&format!(
            "<rect class=\"{}\" x=\"{lx:.1}\" y=\"{:.1}\" width=\"10\" height=\"10\"/>\
             <text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            escape_html(s.class),
            HEIGHT - 12.0,
            lx + 14.0,
            HEIGHT - 3.0,
            escape_html(s.name)
        ));
        lx += 24.0 + 7.0 * s.name.chars().count() as f64;
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_ceilings() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(3.0), 5.0);
        assert_eq!(nice_ceiling(7.0), 10.0);
        assert_eq!(nice_ceiling(12.0), 20.0);
        assert_eq!(nice_ceiling(250.0), 500.0);
        assert_eq!(nice_ceiling(f64::NAN), 1.0);
    }

    #[test]
    fn a_chart_has_a_bar_per_value_and_escapes_its_text() {
        let svg = bars(
            "New <and> closed",
            &["w1".into(), "w2".into()],
            &[
                Series {
                    name: "new",
                    class: "s1",
                    values: vec![3.0, 0.0],
                },
                Series {
                    name: "closed",
                    class: "s2",
                    values: vec![1.0, f64::NAN],
                },
            ],
            "items",
        );
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(
            svg.contains("aria-label=\"New &lt;and&gt; closed\""),
            "{svg}"
        );
        // 4 bars and 2 legend swatches
        assert_eq!(svg.matches("<rect").count(), 6, "{svg}");
        assert!(svg.contains("<title>w1: new 3 items</title>"), "{svg}");
        assert!(svg.contains("<title>w2: closed 0 items</title>"), "{svg}");
        assert!(!svg.contains("NaN"), "{svg}");
        // an empty chart is still one
        assert!(bars("x", &[], &[], "").ends_with("</svg>"));
    }
}
