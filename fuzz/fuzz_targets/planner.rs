//! What the Planner connector reads from Graph: any answer body (a page of
//! tasks, a task, a Graph error, HTML) gives tasks or an error, never a
//! panic; a task's progress and state are then defined; a reference key of
//! any URL unescapes to it.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((tasks, _next)) = changedesk_connectors::planner::parse_tasks(data) {
        for t in tasks {
            let _ = (t.progress(), t.state());
            assert!(t.percent_complete <= 100);
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let key = changedesk_connectors::planner::reference_key(text);
        assert!(!key.contains('.') && !key.contains(':'));
        let back = key
            .replace("%2E", ".")
            .replace("%3A", ":")
            .replace("%40", "@")
            .replace("%23", "#")
            .replace("%25", "%");
        // escaping is reversible only when no escape was already there
        if !text.contains('%') {
            assert_eq!(back, text);
        }
        let title = changedesk_connectors::planner::task_title(text, "cd-MC1-all");
        assert!(title.chars().count() <= 255 && title.ends_with("[cd-MC1-all]"));
    }
});
