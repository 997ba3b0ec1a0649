/* statusd widget: <statusd-widget> shows this status page on another site.
   The page's /embed explains the attributes. No dependencies, cookies,
   storage, eval or inline styles; the DOM is built node by node (Trusted
   Types-safe) inside a Shadow DOM. The server fills in the "__…__" values. */
(function () {
"use strict";
var d = document, me = d.currentScript, ce = window.customElements;
if (!me || !ce || ce.get("statusd-widget")) return;
var origin = new URL(me.src, location.href).origin,
  CSS = "__CSS__", CSS_URL = "__CSS_URL__", ICONS = "__ICONS__",
  REFRESH = "__REFRESH__", MIN_REFRESH = "__MIN_REFRESH__",
  all = new Set(), data, fails = 0, timer, busy, last = 0, sheet;
try { sheet = new CSSStyleSheet(); sheet.replaceSync(CSS); } catch (e) { sheet = 0; }

function el(tag, cls, text) {
  var e = d.createElement(tag);
  if (cls) e.className = cls;
  if (text) e.textContent = text;
  return e;
}
function icon(k) {
  var ns = "http://www.w3.org/2000/svg", s = d.createElementNS(ns, "svg"), p = d.createElementNS(ns, "path"),
    n = k == "maint" ? 24 : 16;
  s.setAttribute("class", "i");
  s.setAttribute("viewBox", "0 0 " + n + " " + n);
  s.setAttribute("aria-hidden", "true");
  s.setAttribute("focusable", "false");
  p.setAttribute("fill-rule", "evenodd");
  p.setAttribute("d", ICONS[k] || ICONS.none);
  s.append(p);
  return s;
}
// Names are isolated so that right-to-left text or overrides in one cannot
// reorder the text around it.
function bdi(t) { return el("bdi", "", t); }
function iso(t) { return "\u2068" + t + "\u2069"; }
function words(w, a) { return (w.getAttribute(a) || "").split(/[\s,]+/).filter(Boolean); }

// One request serves every widget on the page. Refresh every REFRESH
// seconds (or the smallest refresh attribute, never below MIN_REFRESH);
// after errors wait up to 16 times longer, with jitter; while the page is
// hidden, not at all.
function every() {
  var s = REFRESH;
  all.forEach(function (w) { var v = +w.getAttribute("refresh"); if (v > 0) s = Math.min(s, v); });
  return Math.max(s, MIN_REFRESH) * 1000;
}
function schedule() {
  clearTimeout(timer);
  if (!all.size) return;
  var ms = every() * Math.pow(2, Math.min(fails, 4));
  if (fails) ms *= 0.75 + Math.random() / 2;
  timer = setTimeout(load, Math.max(0, ms - (Date.now() - last)));
}
function load() {
  if (busy || !all.size || d.hidden) return;
  busy = 1;
  last = Date.now();
  fetch(origin + "/embed/status.json", {cache: "no-cache", credentials: "omit", referrerPolicy: "no-referrer"})
    .then(function (r) { if (!r.ok) throw r.status; return r.json(); })
    .then(function (j) {
      if (!j || !j.status || !j.journeys || !j.components || !j.incidents) throw 0;
      data = j;
      fails = 0;
    }, function () { fails++; })
    .then(function () {
      busy = 0;
      all.forEach(function (w) { w.draw(); });
      schedule();
    });
}
d.addEventListener("visibilitychange", function () { if (!d.hidden) schedule(); });

// view picks what a widget shows from data: the page, or the journeys and
// components its attributes name, and the incidents touching them.
function view(w) {
  var cs = words(w, "components"), js = words(w, "journeys"), whole = !cs.length && !js.length,
    by = {}, ids = {}, sel = [], v = {items: []};
  data.components.forEach(function (c) { by[c.id] = c; });
  function add(c) {
    if (c && !ids[c.id]) {
      ids[c.id] = 1;
      (c.components || []).forEach(function (x) { add(by[x]); });
    }
  }
  function pick(it, journey) {
    if (it && sel.indexOf(it) < 0) {
      sel.push(it);
      if (journey) it.components.forEach(function (x) { add(by[x]); });
      else add(it);
    }
  }
  data.journeys.forEach(function (j) { if (js.indexOf(j.id) >= 0) pick(j, 1); });
  cs.forEach(function (id) { pick(by[id]); });
  if (whole) {
    v.text = data.status.description;
    v.icon = data.status.icon;
    v.items = data.journeys;
  } else if (!sel.length) {
    v.text = "Unknown component";
    v.icon = "none";
  } else if (sel.length == 1) {
    v.name = sel[0].name;
    v.text = sel[0].label;
    v.icon = sel[0].icon;
    v.items = (sel[0].components || []).map(function (x) { return by[x]; }).filter(Boolean);
  } else {
    var worst = sel.reduce(function (a, b) { return b.sev > a.sev ? b : a; });
    if (worst.sev) v.name = worst.name;
    v.text = worst.sev ? worst.label : "All operational";
    v.icon = worst.icon;
    v.items = sel;
  }
  v.inc = data.incidents.filter(function (i) {
    return whole || i.components.some(function (c) { return ids[c]; });
  });
  return v;
}

function link(w, href, kids) {
  var a = el("a"), t = w.getAttribute("target");
  a.href = href;
  a.append.apply(a, kids);
  if (/^_(blank|self|parent|top)$/.test(t)) {
    a.target = t;
    if (t == "_blank") {
      a.rel = "noopener";
      a.append(el("span", "vh", " (opens in a new tab)"));
    }
  }
  return a;
}
// dest is where the status links to: the href attribute if it is an http(s)
// URL, else the status page.
function dest(w) {
  var h = w.getAttribute("href"), u;
  try { u = h && new URL(h, location.href); } catch (e) { u = 0; }
  return u && /^https?:$/.test(u.protocol) ? u.href : origin + "/";
}

ce.define("statusd-widget", class extends HTMLElement {
  static get observedAttributes() { return ["components", "journeys", "layout", "theme", "href", "target"]; }
  constructor() {
    super();
    var r = this.attachShadow({mode: "open"}), l;
    if (sheet) r.adoptedStyleSheets = [sheet];
    else {
      // Without constructable stylesheets, the host's style-src must allow us.
      l = el("link");
      l.rel = "stylesheet";
      l.href = origin + CSS_URL;
      r.append(l);
    }
    this.box = el("div");
    this.live = el("div", "vh");
    this.live.setAttribute("role", "status");
    r.append(this.box, this.live);
  }
  connectedCallback() {
    all.add(this);
    this.draw();
    if (!data && !busy) load();
    else if (all.size == 1) schedule();
  }
  disconnectedCallback() {
    all.delete(this);
    if (!all.size) clearTimeout(timer);
  }
  attributeChangedCallback() { if (this.box) this.draw(); }
  draw() {
    var w = this, lay = w.getAttribute("layout") == "panel" ? "panel" : "pill", th = w.getAttribute("theme"),
      box = el("div", "w " + lay + " " + (/^(light|dark)$/.test(th) ? th : "auto")), href = dest(w), v, h, ul, news = "";
    if (!data) {
      box.append(fails ? link(w, origin + "/", ["Status unavailable"]) : el("span", "msg", "Loading status…"));
    } else {
      v = view(w);
      h = el("div", "h s-" + v.icon);
      h.append(link(w, href, [icon(v.icon), el("span", "vh", data.name + " status: ")].concat(
        v.name ? [bdi(v.name), ": " + v.text] : [v.text])));
      box.append(h);
      news = (v.name ? iso(v.name) + ": " : "") + v.text;
      if (lay == "panel" && v.items.length) {
        ul = el("ul", "items");
        v.items.forEach(function (it) {
          var li = el("li", "s-" + it.icon), n = el("span", "n");
          n.append(icon(it.icon), bdi(it.name));
          li.append(n, " ", el("span", "l", it.label));
          ul.append(li);
        });
        box.append(ul);
      }
      if (v.inc.length) {
        ul = el("ul", "inc");
        v.inc.forEach(function (i) {
          var li = el("li"), kind = i.kind == "maintenance" ? "Maintenance: " : "Incident: ";
          li.append(link(w, new URL(i.url, origin).href, [el("span", "vh", kind), bdi(i.name)]), " ", el("span", "l", i.status));
          ul.append(li);
          news += ". " + kind + iso(i.name) + ", " + i.status;
        });
        box.append(ul);
      }
      if (data.stale) box.append(el("p", "more", "This status could not be refreshed and may be out of date."));
      if (lay == "panel") {
        h = el("p", "more");
        h.append(link(w, href, [data.name + " status page"]));
        box.append(h);
      }
    }
    // Redraw only on a change, keeping focus on the same link; announce
    // changes of status, never the first one.
    var key = [box.className, href, w.getAttribute("target"), box.textContent].join("\n"),
      old = this.box, f = [].indexOf.call(old.querySelectorAll("a"), this.shadowRoot.activeElement);
    if (key == this.key) return;
    this.key = key;
    old.replaceWith(box);
    this.box = box;
    if (f >= 0 && (h = box.querySelectorAll("a")[f])) h.focus();
    if (this.news && news && news != this.news) {
      box.classList.add("chg");
      this.live.textContent = data.name + " status: " + news + ".";
    }
    if (news) this.news = news;
  }
});
})();
