// Share buttons follow the editable message: <textarea data-share-message data-share-link="…">
// and links <a data-share-href="https://wa.me/?text={message}">. On every edit each link's
// href is rebuilt with the message URL-encoded in place of {message}; links marked
// data-share-without-link get the message minus the personal link (Telegram adds the link
// itself). Without JavaScript the server-rendered hrefs share the prefilled message.
(function () {
  "use strict";
  const box = document.querySelector("[data-share-message]");
  if (!box) return;
  const link = box.dataset.shareLink || "";

  function withoutLink(text) {
    const lines = (link ? text.split(link).join("") : text).split("\n");
    return lines.map((line) => line.split(/\s+/).filter(Boolean).join(" ")).join("\n").trim();
  }

  function update() {
    document.querySelectorAll("a[data-share-href]").forEach((anchor) => {
      const text = anchor.hasAttribute("data-share-without-link") ? withoutLink(box.value) : box.value;
      anchor.href = anchor.dataset.shareHref.split("{message}").join(encodeURIComponent(text));
    });
  }

  box.addEventListener("input", update);
})();
