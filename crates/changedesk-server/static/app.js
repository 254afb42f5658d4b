// changedesk web UI: progressive enhancement only. Every page works without
// this file; it adds keyboard shortcuts.
//   Inbox and item lists: j / k move between rows, o or Enter opens the
//   current row, p opens or closes its preview, x selects it for bulk
//   triage, / focuses the search box.
//   Post page: t triages, n saves the triage form and opens the next post
//   awaiting triage, j / k open the next / previous one without saving,
//   s starts work, a jumps to the owner, c to the comment, u goes back to
//   the inbox. The agenda's Print button prints.
//   Forms that remove something (data-confirm="question") ask first.
(function () {
  "use strict";
  function typing(e) {
    var t = e.target;
    return t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
  }
  var rows = Array.prototype.slice.call(document.querySelectorAll("[data-row]"));
  var current = -1;
  function move(to) {
    if (!rows.length) return;
    if (current >= 0) rows[current].classList.remove("current");
    current = Math.max(0, Math.min(rows.length - 1, to));
    var row = rows[current];
    row.classList.add("current");
    var link = row.querySelector("a[data-open]");
    if (link) link.focus();
    row.scrollIntoView({ block: "nearest" });
  }
  function click(id) {
    var el = document.getElementById(id);
    if (el) { el.click(); return true; }
    return false;
  }
  function focus(id) {
    var el = document.getElementById(id);
    if (el) { el.focus(); return true; }
    return false;
  }
  document.addEventListener("keydown", function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey || typing(e)) return;
    var done = true;
    switch (e.key) {
      case "j": if (rows.length) { move(current + 1); } else { done = click("next-post"); } break;
      case "k": if (rows.length) { move(current - 1); } else { done = click("prev-post"); } break;
      case "n": done = click("act-save-next"); break;
      case "o":
        if (current >= 0) {
          var link = rows[current].querySelector("a[data-open]");
          if (link) link.click();
        } else { done = false; }
        break;
      case "p":
        if (current >= 0) {
          var preview = rows[current].querySelector("details[data-preview]");
          if (preview) preview.open = !preview.open;
        } else { done = false; }
        break;
      case "x":
        if (current >= 0) {
          var box = rows[current].querySelector("input[type=checkbox]");
          if (box) box.checked = !box.checked;
        } else { done = false; }
        break;
      case "/": done = focus("q"); break;
      case "t": done = click("act-triage"); break;
      case "s": done = click("act-start"); break;
      case "a": done = focus("owner"); break;
      case "c": done = focus("comment"); break;
      case "u": window.location.href = "/"; break;
      default: done = false;
    }
    if (done) e.preventDefault();
  });
  // a row's preview is fetched when it first opens (the list stays light)
  Array.prototype.forEach.call(document.querySelectorAll("details[data-preview]"), function (d) {
    d.addEventListener("toggle", function () {
      if (!d.open || d.dataset.loaded) return;
      d.dataset.loaded = "1";
      fetch(d.dataset.preview, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
        .then(function (html) {
          var body = new DOMParser().parseFromString(html, "text/html").body;
          Array.prototype.slice.call(d.children, 1).forEach(function (c) { c.remove(); });
          Array.prototype.slice.call(body.children).forEach(function (c) { d.appendChild(c); });
        })
        .catch(function () { delete d.dataset.loaded; });
    });
  });
  // the row whose link has focus is the current one (Tab works too)
  rows.forEach(function (row, i) {
    row.addEventListener("focusin", function () {
      if (current >= 0 && current !== i) rows[current].classList.remove("current");
      current = i;
      row.classList.add("current");
    });
  });
  // a Print button where a page offers one (the agenda)
  Array.prototype.forEach.call(document.querySelectorAll("button[data-print]"), function (b) {
    b.hidden = false;
    b.addEventListener("click", function () { window.print(); });
  });
  // a form that removes something asks its question first (without this
  // file it is sent at once, as any form)
  Array.prototype.forEach.call(document.querySelectorAll("form[data-confirm]"), function (f) {
    f.addEventListener("submit", function (e) {
      if (!window.confirm(f.getAttribute("data-confirm"))) e.preventDefault();
    });
  });
  // confirm bulk actions that close items
  var bulk = document.getElementById("bulk");
  if (bulk) {
    bulk.addEventListener("submit", function (e) {
      var n = bulk.querySelectorAll("input[name=id]:checked").length;
      if (n === 0) { e.preventDefault(); window.alert("Select posts first (x or the checkboxes)."); }
    });
  }
})();
