// /embed: a Copy button for each snippet. Without it the snippets are plain
// text to select; the buttons show only when this script runs.
(function () {
"use strict";
var d = document;
d.documentElement.classList.add("can-copy");
function select(n) {
  var r = d.createRange(), s = getSelection();
  r.selectNodeContents(n);
  s.removeAllRanges();
  s.addRange(r);
}
// Delegated, so that buttons in a refreshed <main> work too.
d.addEventListener("click", function (e) {
  var b = e.target.closest && e.target.closest("button[data-copy]"), code, say;
  if (!b) return;
  code = d.getElementById(b.getAttribute("data-copy"));
  say = b.parentNode.querySelector("[role=status]");
  if (!code || !say) return;
  function done(ok) {
    say.textContent = ok ? "Copied." : "Selected: press Ctrl+C or ⌘C to copy.";
    if (!ok) select(code);
  }
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(code.textContent).then(function () { done(1); }, function () { done(0); });
  } else {
    done(0);
  }
});
})();
