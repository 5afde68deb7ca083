// Progressive enhancement of the receipt: copy and print buttons. The page works without it.
"use strict";
(function () {
  var code = document.getElementById("tracking-code");
  var copy = document.getElementById("copy-code");
  var print = document.getElementById("print-receipt");
  if (code && copy && navigator.clipboard) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      navigator.clipboard.writeText(code.textContent.trim()).then(function () {
        copy.textContent = copy.dataset.copied;
      });
    });
  }
  if (print && window.print) {
    print.hidden = false;
    print.addEventListener("click", function () { window.print(); });
  }
})();
