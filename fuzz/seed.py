#!/usr/bin/env python3
"""Writes seed inputs for each fuzz target into fuzz/seeds/TARGET: from the
real data in ../shared/data when it is there, and always from the project's
own files (example configuration, RULES.md). The seeds are not committed;
the corpus the fuzzer grows from them is (fuzz/corpus)."""
import json, os, re, sys, hashlib

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
shared = os.environ.get("CHANGEDESK_SHARED", os.path.join(os.path.dirname(root), "shared"))
seeds = os.path.join(here, "seeds")

def put(target, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    d = os.path.join(seeds, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)

posts = []
path = os.path.join(shared, "data", "service-messages.json")
if os.path.exists(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    posts = doc["value"] if isinstance(doc, dict) else doc
else:
    print(f"seed: {path} is absent: seeding from the project's own files only", file=sys.stderr)

# a post of each shape, a few whole pages, and PowerShell's encodings
for i, p in enumerate(posts):
    if i % 4 == 0:
        put("graph_messages", json.dumps([p]))
    body = (p.get("body") or {}).get("content") or ""
    if i % 3 == 0 and body:
        put("sanitize", body[:20000])
    if i % 8 == 0:
        q = posts[(i + 1) % len(posts)]
        qbody = (q.get("body") or {}).get("content") or ""
        put("diff", "\x01".join([p.get("title", ""), body[:8000], q.get("title", ""), qbody[:8000]]))
    for s in p.get("services") or []:
        put("search", f'service:"{s}" ' + " ".join((p.get("title") or "").split()[:3]))
for k in range(0, len(posts), 100):
    put("graph_messages", json.dumps({"value": posts[k:k + 20]}))
if posts:
    one = json.dumps([posts[0]])
    put("graph_messages", b"\xef\xbb\xbf" + one.encode("utf-8"))
    put("graph_messages", b"\xff\xfe" + one.encode("utf-16-le"))

put("graph_messages", '[{"id":"MC1","title":"TPM 2.0 \u2013 a necessity","details":[{"name":"FeatureStatusJson","value":"{\\"1\\":[{\\"RoadmapId\\":1,\\"Platform\\":\\"IOS\\",\\"Status\\":\\"FeatureRolloutStatusRolledOut\\"}]}"}],"body":{"content":"<p>x</p>"}}]')
put("graph_incidents", '{"value":[{"id":"EX1","title":"Users can\'t sign in","service":"Exchange Online","status":"serviceDegradation","classification":"incident","startDateTime":"2025-02-14T01:17:13Z","isResolved":false,"posts":[{"createdDateTime":"2025-02-14T01:17:13Z","postType":"regular","description":{"contentType":"html","content":"<p>Title: x</p><p>User impact: y</p>"}}],"details":[{"name":"x","value":"y"}]}]}')
put("graph_health", '{"value":[{"id":"Exchange","service":"Exchange Online","status":"serviceOperational"},{"id":"Teams","service":"Microsoft Teams","status":"serviceDegradation"}]}')

rules_md = os.path.join(root, "docs", "RULES.md")
example = os.path.join(root, "config", "changedesk.example.toml")
for p in (rules_md, example):
    with open(p, encoding="utf-8") as f:
        text = f.read()
    for m in re.finditer(r'when\s*=\s*"((?:[^"\\]|\\.)*)"', text):
        put("rules", m.group(1).replace('\\"', '"'))
    for m in re.finditer(r"when\s*=\s*'([^']*)'", text):
        put("rules", m.group(1))
    for m in re.finditer(r"```(?:text|rules)?\n(.*?)```", text, re.S):
        block = m.group(1)
        if len(block) < 400 and "=" not in block.split("\n")[0][:3]:
            put("rules", block.strip())
with open(example, encoding="utf-8") as f:
    put("config", f.read())
put("config", '[[tenants]]\nname = "contoso"\ntenant_id = "contoso.onmicrosoft.com"\nclient_id = "x"\nclient_secret = "y"\n')
for q in ['teams "meeting recap" -copilot', 'tag:"User impact" tenant:contoso', 'service:', '"', '-', 'état 日本語']:
    put("search", q)
for v in ["2026-12-01", "2026-12-01T09:00:00Z", "30d", "act_by - 7d", "sqlite://changedesk.db",
          "postgres://u:p@h/db", "admin", "change_manager", "tenant:contoso", "group:emea", "*",
          "triaged", "dismissed", "accept", "high", "owner:collab", "–x", "日本語"]:
    put("values", v)
# secrets: key file texts and sealed values (U+0001 between them), with the
# target's fixed key; a valid sealed value needs an AEAD (python3-cryptography)
KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
for f in [KEY, "# comment\n" + KEY + "\n\n" + KEY + "  # older\n", "", "#", "abc", KEY[:-1], "é" * 44]:
    put("secrets", f)
    put("secrets", f + "\x01cdsec1:0011223344556677:AAAA")
try:
    import base64
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
    key = base64.b64decode(KEY)
    kid = hashlib.sha256(key).hexdigest()[:16]
    for plain in ["hunter2", "https://prod.example/workflows/abc?sig=x", "", "日本語"]:
        nonce = os.urandom(12)
        sealed = nonce + ChaCha20Poly1305(key).encrypt(nonce, plain.encode(), b"channel/1/password")
        text = f"cdsec1:{kid}:" + base64.urlsafe_b64encode(sealed).decode().rstrip("=")
        put("secrets", KEY + "\x01" + text)
except ImportError:
    print("seed: python3-cryptography is absent: no valid sealed values among the secrets seeds", file=sys.stderr)
# ServiceNow answers in each documented shape (integrations.md §1.2, §1.4, §1.5)
for answer in [
    '{"result":[{"sys_id":"b0dbda5347c12200e0ef563dbb9a718f","number":"CHG0030022","state":"-3","approval":"requested","sys_updated_on":"2026-02-17 09:12:40","sys_mod_count":"4"}]}',
    '{"result":{"sys_id":{"display_value":"b0db","value":"b0db"},"number":{"display_value":"CHG0030022","value":"CHG0030022"},"state":{"display_value":"New","value":-5},"sys_mod_count":{"display_value":"0","value":0},"__meta":{"ignoredFields":[]}}}',
    '{"result":[]}',
    '{"error":{"message":"No Record found","detail":"Record doesn\'t exist or ACL restricts the record retrieval"},"status":"failure"}',
]:
    put("servicenow", answer)
# Jira answers (integrations.md §2.3, §2.4, §2.6, §2.7)
for answer in [
    '{"issues":[{"id":"10042","key":"CHG-17","self":"https://acme.atlassian.net/rest/api/3/issue/10042","fields":{"summary":"[M365] MC123456","status":{"id":"3","name":"In Progress","statusCategory":{"key":"indeterminate"}},"updated":"2026-02-18T10:15:03.123+0000"}}],"isLast":true}',
    '{"issues":[],"isLast":false,"nextPageToken":"page-50"}',
    '{"id":"10042","key":"CHG-17","fields":{"status":{"id":"10001","name":"Done","statusCategory":{"id":3,"key":"done","name":"Done"}}}}',
    '{"errorMessages":["Issue does not exist or you do not have permission to see it."],"errors":{}}',
]:
    put("jira", answer)
# GLPI answers (integrations.md §3.1)
for answer in [
    '{"totalcount":2,"count":2,"data":[{"2":15,"1":"[M365] MC123456 [cd-MC123456-all]","12":1,"19":"2026-02-17 09:00:00"},{"2":"16","1":"x","12":"5"}]}',
    '{"totalcount":1,"count":1,"data":{"15":{"2":15,"1":"x","12":6}}}',
    '{"id":15,"entities_id":0,"name":"[M365] MC123456","date":"2026-02-17 09:00:00","date_mod":"2026-02-17 09:00:00","status":1,"content":"<p>Tracked</p>","links":[{"rel":"Entity","href":"https://glpi.example/apirest.php/Entity/0"}]}',
    '["ERROR_SESSION_TOKEN_INVALID","session_token seems invalid"]',
]:
    put("glpi", answer)
# Planner answers through Graph (integrations.md §7, graph-api.md §4.2)
for answer in [
    '{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#planner/plans(\'xqQg5FS2LkCp935s-FIFm2QAFkHM\')/tasks","value":[{"@odata.etag":"W/\\"JzEtVGFzayAgQEBAQEBAQEBAQEBAQEBAWCc=\\"","planId":"xqQg5FS2LkCp935s-FIFm2QAFkHM","bucketId":"hsOf2dhOJkqyYYZEtdzDe2QAIUCR","title":"[M365] MC123456: x [cd-MC123456-all]","percentComplete":50,"hasDescription":true,"id":"01gzSlKkIUSUl6DF_EilrmQAKDhh"}],"@odata.nextLink":"https://graph.microsoft.com/v1.0/planner/plans/xqQg/tasks?$skiptoken=abc"}',
    '{"@odata.etag":"W/\\"JzEt\\"","id":"01gzSlKkIUSUl6DF_EilrmQAKDhh","title":"t","percentComplete":100,"completedDateTime":"2026-02-18T10:15:03Z"}',
    '{"value":[]}',
    '{"error":{"code":"PreconditionFailed","message":"The If-Match header value does not match the current version."}}',
]:
    put("planner", answer)
# timeline: the reference date on the first line, then a post body
for i, p in enumerate(posts):
    body = (p.get("body") or {}).get("content") or ""
    if i % 5 == 0 and body:
        put("timeline", (p.get("startDateTime") or "")[:10] + "\n" + body[:20000])
for body in [
    "<p>[When this will happen:]</p><p>Targeted Release: We will begin rolling out mid-May 2026 (previously early May) and expect to complete by late May 2026.</p><p>General Availability (Worldwide, GCC, GCC High, DoD): Rollout begins late May and completes by mid to late June 2026.</p>",
    "<p>When this will happen</p><ul><li>General Availability</li><li>Worldwide and GCC: Q3 CY2026 to the second quarter of 2027</li><li>GCC-H: 2026-09-15 \u2013 30 September 2026</li></ul>",
    "<p>The app will be retired on February 29, 2028 (previously end of December).</p><p>Note: dates may change.</p>",
    "[When this will happen:] Public Preview: Available now.&nbsp;&#8211;&#x2011;&bogus; <li>May</li>",
]:
    put("timeline", "2026-01-15\n" + body)
print("seeds in", seeds)

# roadmap: slices of the real dump (bare arrays, the dump's wrapped shape)
# and the reference's example item (integrations.md §9)
put("roadmap", '[{"id":557256,"title":"Microsoft Copilot (Microsoft 365): Explain slide selection","description":"x","moreInfoLink":null,"publicDisclosureAvailabilityDate":"March CY2026","publicPreviewDate":"","created":"2026-02-21T00:30:02","modified":"2026-02-21T00:30:02","publicRoadmapStatus":"Include this month","status":"In development","locale":null,"tags":[{"tagName":"PowerPoint"}],"tagsContainer":{"products":[{"tagName":"PowerPoint"}],"cloudInstances":[],"releasePhase":[{"tagName":"General Availability"}],"platforms":[{"tagName":"Desktop"}]}}]')
path = os.path.join(shared, "data", "roadmap-data.json")
if os.path.exists(path):
    with open(path, encoding="utf-8") as f:
        roadmap = json.load(f)
    items = [{k: v for k, v in i.items() if not k.startswith("_")} for i in roadmap.get("items", [])]
    for n in range(0, min(len(items), 400), 20):
        put("roadmap", json.dumps(items[n:n + 3]))
    put("roadmap", json.dumps({"metadata": roadmap.get("metadata"), "items": items[:5]}))
