// Optional: local times; <main> refreshed each minute. Works without.
(function () {
"use strict";
var d = document, h = d.documentElement, fmt;
try {
  fmt = new Intl.DateTimeFormat(h.lang.replace(/^(en)?$/, "en-GB"), {day: "numeric", month: "short",
    year: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short"});
} catch (e) { return; }

function local() {
  d.querySelectorAll("time[datetime]:not(.date):not([title])").forEach(function (t) {
    var at = new Date(t.dateTime);
    if (isNaN(at)) return;
    t.title = t.textContent;
    t.textContent = fmt.format(at);
  });
  var z = d.getElementById("tz");
  if (z) z.textContent = fmt.resolvedOptions().timeZone;
}

var main = d.querySelector("main"), seen = main && main.innerHTML, etag;

// Focus and open lists of days outlive a refresh.
function k(x) { return x.closest(".comp").querySelector("h3").textContent; }
function swap(old, now) {
  var a = d.activeElement, q = old.contains(a) && a.getAttribute("href"), i,
    o = [].map.call(old.querySelectorAll("details[open]"), k);
  q = q && 'a[href="' + CSS.escape(q) + '"]';
  if (q) i = [].indexOf.call(old.querySelectorAll(q), a);
  old.replaceChildren.apply(old, Array.from(now.childNodes));
  old.querySelectorAll("details").forEach(function (x) { x.open = o.includes(k(x)); });
  a = q && old.querySelectorAll(q)[i];
  if (a) a.focus({preventScroll: true});
}

function refresh() {
  if (!main || d.hidden) return;
  fetch(location.href, {cache: "no-cache"}).then(function (r) {
    var e = r.headers.get("ETag");
    if (!r.ok || (e && e === etag)) return;
    etag = e;
    return r.text().then(function (html) {
      var n = new DOMParser().parseFromString(html, "text/html"), m = n.querySelector("main"),
        f = n.querySelector("footer"), g = d.querySelector("footer");
      if (!m || m.innerHTML === seen) return;
      seen = m.innerHTML;
      swap(main, m);
      if (f && g) swap(g, f);
      local();
    });
  }).catch(Boolean);
}

local();
setInterval(refresh, 60000);
d.addEventListener("visibilitychange", refresh);
})();
