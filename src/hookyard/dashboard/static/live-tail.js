// The Events page's live tail: with EventSource, wait for the stream to say an event
// arrived, then fetch the rows once (a burst is one fetch); without it, keep htmx's
// 2-second poll the page was rendered with.
(function () {
  "use strict";
  var body = document.getElementById("events-body");
  if (!body || !body.dataset.stream || typeof window.EventSource !== "function") {
    return;
  }
  body.setAttribute("hx-trigger", "hookyard-new");
  if (window.htmx) {
    window.htmx.process(body);
  }
  var pending = null;
  var source = new window.EventSource(body.dataset.stream);
  function refresh() {
    pending = null;
    if (window.htmx) {
      window.htmx.trigger(body, "hookyard-new");
    }
  }
  source.addEventListener("ready", function () {
    body.dataset.live = "stream";
  });
  source.addEventListener("event", function () {
    if (pending === null) {
      pending = window.setTimeout(refresh, 250);
    }
  });
  window.addEventListener("pagehide", function () {
    source.close();
  });
})();
