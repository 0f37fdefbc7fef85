// The rich reply composer: Trix (static/vendor/trix) takes the place of the plain
// #reply-body textarea. The editor's HTML travels in the hidden body_html field and the
// server derives the text part from it; without JavaScript the textarea sends plain text.
"use strict";

(function () {
  const box = document.getElementById("reply-body");
  const htmlField = document.getElementById("reply-body-html");
  if (!box || !htmlField || !window.Trix || !window.customElements) return;
  const form = box.form;
  Object.assign(Trix.config.lang, JSON.parse(form.dataset.editorLabels || "{}"));
  // A pasted screenshot needs no "image.png 67 KB" under it in the customer's mail.
  Trix.config.attachments.preview.caption = { name: false, size: false };

  const editor = document.createElement("trix-editor");
  editor.id = "reply-editor";
  editor.className = "reply-editor";
  editor.setAttribute("input", htmlField.id);
  editor.setAttribute("placeholder", box.placeholder || "");
  editor.setAttribute("aria-label", box.labels.length ? box.labels[0].textContent : "");
  if (!htmlField.value && box.value) htmlField.value = textToHtml(box.value);
  box.hidden = true;
  box.after(editor);

  function textToHtml(text) {
    const div = document.createElement("div");
    div.textContent = text;
    return `<div>${div.innerHTML.replace(/\n/g, "<br>")}</div>`;
  }

  // The textarea keeps the plain text too, so a form read without the HTML still has it.
  editor.addEventListener("trix-change", () => {
    box.value = editor.editor.getDocument().toString().replace(/\n$/, "");
  });

  // Files pasted or dropped into the editor join the reply's attachments; images stay
  // in the text, sent inline by Content-ID (cid:) with the reply instead of uploaded.
  const fileInput = form.querySelector('input[type="file"][name="attachments"]');
  const inlineInput = document.createElement("input");
  inlineInput.type = "file";
  inlineInput.name = "inline_images";
  inlineInput.multiple = true;
  inlineInput.hidden = true;
  form.append(inlineInput);
  const pastedImages = new Map(); // Content-ID -> File; Trix lets go of the file itself
  let pasted = 0;
  function attach(files) {
    if (!fileInput) return;
    const all = new DataTransfer();
    for (const file of fileInput.files) all.items.add(file);
    for (const file of files) all.items.add(file);
    fileInput.files = all.files;
    fileInput.dispatchEvent(new Event("change", { bubbles: true }));
  }
  editor.addEventListener("trix-file-accept", (event) => {
    if (event.file.type.startsWith("image/")) return;
    event.preventDefault();
    attach([event.file]);
  });
  editor.addEventListener("trix-attachment-add", (event) => {
    const attachment = event.attachment;
    if (!attachment.file) return;
    const random = Math.random().toString(36).slice(2, 10);
    const contentId = `image-${++pasted}-${random}@inline`; // the form the server accepts
    pastedImages.set(contentId, attachment.file);
    // A URL makes Trix keep the image in its HTML.
    attachment.setAttributes({ url: `cid:${contentId}` });
  });
  let filesKept = false;
  form.addEventListener("submit", (event) => {
    const images = new DataTransfer();
    const kept = [];
    for (const attachment of editor.editor.getDocument().getAttachments()) {
      const contentId = (attachment.getURL() || "").replace(/^cid:/, "");
      const file = pastedImages.get(contentId);
      if (file) {
        images.items.add(new File([file], contentId, { type: file.type }));
        kept.push([contentId, file]);
      }
    }
    inlineInput.files = images.files;
    const attachments = fileInput ? [...fileInput.files] : [];
    if (filesKept || !draftKey || !window.indexedDB || !(attachments.length || kept.length)) {
      return;
    }
    // Sent once the files are kept, so a refused reply can have them back.
    event.preventDefault();
    const submitter = event.submitter;
    keptFiles("readwrite", (store) => store.put({ attachments, images: kept }, draftKey))
      .catch(() => null)
      .finally(() => {
        filesKept = true;
        form.requestSubmit(submitter);
      });
  });
  form.addEventListener("dragover", (event) => {
    if (event.dataTransfer && event.dataTransfer.types.includes("Files")) event.preventDefault();
  });
  form.addEventListener("drop", (event) => {
    if (!event.dataTransfer || !event.dataTransfer.files.length || editor.contains(event.target)) {
      return;
    }
    event.preventDefault();
    attach(event.dataTransfer.files);
  });

  // A refused reply (the double-reply guard, a form error) comes back as a new page,
  // and no page gets files back into a file input from the server. The files wait in
  // the browser (IndexedDB, per agent and ticket) from the submit until the page says
  // whether they were dropped: then they return into the composer, else they are let go.
  const draftKey = form.dataset.draftKey;
  function keptFiles(mode, action) {
    return new Promise((resolve, reject) => {
      const opening = indexedDB.open("helpdesk-reply-files", 1);
      opening.onupgradeneeded = () => opening.result.createObjectStore("files");
      opening.onerror = () => reject(opening.error);
      opening.onsuccess = () => {
        const db = opening.result;
        const transaction = db.transaction("files", mode);
        const request = action(transaction.objectStore("files"));
        transaction.oncomplete = () => {
          db.close();
          resolve(request.result);
        };
        transaction.onerror = transaction.onabort = () => {
          db.close();
          reject(transaction.error);
        };
      };
    });
  }
  async function restoreFiles() {
    const kept = await keptFiles("readonly", (store) => store.get(draftKey)).catch(() => null);
    keptFiles("readwrite", (store) => store.delete(draftKey)).catch(() => null);
    if (!kept) return;
    if (kept.attachments.length) attach(kept.attachments);
    for (const [contentId, file] of kept.images) pastedImages.set(contentId, file);
    for (const attachment of editor.editor.getDocument().getAttachments()) {
      const file = pastedImages.get((attachment.getURL() || "").replace(/^cid:/, ""));
      if (file) attachment.setPreviewURL(URL.createObjectURL(file));
    }
    for (const note of document.querySelectorAll("[data-files-dropped-note]")) {
      note.textContent = form.dataset.filesKeptText;
      note.className = "hint files-kept";
    }
  }
  if (draftKey && window.indexedDB) {
    if (form.hasAttribute("data-files-dropped")) {
      if (editor.editor) restoreFiles();
      else editor.addEventListener("trix-initialize", restoreFiles, { once: true });
    } else {
      keptFiles("readwrite", (store) => store.delete(draftKey)).catch(() => null);
    }
  }

  // For the saved reply picker and the FAQ insert (static/saved_replies.js, faq_insert.js).
  window.richReply = {
    editor,
    textBeforeCaret() {
      const [start] = editor.editor.getSelectedRange();
      return editor.editor.getDocument().toString().slice(0, start);
    },
    // Puts plain text at the caret; `breaks` line breaks part it from text before it.
    insert(text, breaks = 1) {
      const before = this.textBeforeCaret();
      editor.focus();
      if (before.trim()) {
        const ending = before.length - before.replace(/\n+$/, "").length;
        for (let i = ending; i < breaks; i++) editor.editor.insertLineBreak();
      }
      editor.editor.insertString(text);
    },
    // Replaces what was typed before the caret (the "/filter" that opened the picker).
    replaceBeforeCaret(text) {
      const [start] = editor.editor.getSelectedRange();
      editor.focus();
      editor.editor.setSelectedRange([0, start]);
      editor.editor.insertString(text);
    },
  };
})();
