// Pixelator upload page: preview in the browser, choose the whole photo or areas of it (drawn, or faces found),
// upload through a presigned POST, follow the status. Plain JavaScript modules, no framework and no build:
// served as-is by CloudFront and by the local edge.
import {
  PIXEL_SIZE_MAX, PIXEL_SIZE_MIN, clampPixelSize, describeFaceBlocks, describeFacesFound, describeFailure,
  describeLargeAreas, describePixelated, downloadName, formatBytes, formatName, mergeSameFaces, plural,
  retryableFailure,
} from "./words.js";
import {
  areaTargets, dctGrid, drawAreasPreview, drawPreview, loadWorkingCopy,
} from "./preview.js";
import { followStatus, postToStorage, requestUpload } from "./network.js";
import { findFaces } from "./faces.js";
import { AreaEditor, MAX_AREAS, outlineRegions } from "./areas.js";
import { readJpegLayout, uprightPhoto } from "./orientation.js";
import { acceptDroppedFiles } from "./dropzone.js";

// How many files upload at the same time.
const PARALLEL_UPLOADS = 3;
// An upload's progress is told to a screen reader at every this many percent (the bar and the text on the card
// follow every percent): at every step, four photos made 86 messages in 10 s.
const ANNOUNCED_PROGRESS_STEP = 25;
// The states whose text is told to a screen reader as it is shown; a failure is told by its alert, and the rest
// (waiting, preparing) last too little, or concern too many photos at once, to be worth a message each.
const ANNOUNCED_STATES = new Set(["uploading", "processing", "done"]);

const form = document.getElementById("upload-form");
const fileInput = document.getElementById("file-input");
const dropzone = document.getElementById("dropzone");
const slider = document.getElementById("pixel-size");
const sliderValue = document.getElementById("pixel-size-value");
const serverFaces = document.getElementById("server-faces");
const serverFacesChoice = document.getElementById("server-faces-choice");
const uploadButton = document.getElementById("upload-button");
const clearButton = document.getElementById("clear-button");
const actions = document.getElementById("actions");
const actionsSummary = document.getElementById("actions-summary");
const fileList = document.getElementById("file-list");
const emptyNote = document.getElementById("empty-note");
const cardTemplate = document.getElementById("file-card");

/** Every file on the page: {file, card, parts, work, editor, state, objectUrl, previewable}. */
const entries = [];
let renderQueued = false;
let cardCount = 0;

/** What the form says now; `areas` is true when only the chosen areas (and faces) are to be pixelated. */
function currentOptions() {
  const method = form.querySelector('input[name="method"]:checked');
  const target = form.querySelector('input[name="target"]:checked');
  const areas = Boolean(target && target.value === "areas");
  return {
    pixelSize: clampPixelSize(slider.value),
    method: method ? method.value : "average",
    areas,
    serverFaces: areas && serverFaces.checked,
  };
}

function describeOptions(options) {
  return `${options.pixelSize} px, ${options.method}`;
}

function refreshControls() {
  const pending = entries.filter((e) => e.state === "pending").length;
  // aria-disabled rather than disabled: a disabled button loses keyboard focus the moment it is pressed.
  uploadButton.setAttribute("aria-disabled", String(pending === 0));
  uploadButton.textContent = pending > 1 ? `Pixelate ${plural(pending, "image", "images")}` : "Pixelate";
  // At the bottom of the screen while there are photos: in the form, it is pages away from the fifth of eight on a
  // phone. Kept there until the last photo goes, not only while some wait: the photos would jump as it came back.
  document.documentElement.classList.toggle("actions-docked", entries.length > 0);
  measureDockedActions();
  clearButton.hidden = !entries.some((e) => e.state === "done" || e.state === "failed");
  emptyNote.hidden = entries.length > 0;
  showAreasSummary();
}

// The docked bar's height, for the stylesheet: the page ends that much lower, so that the bar covers none of its
// last lines, and what is scrolled into view (a focused area, say) stops above the bar. 0 where the stylesheet
// leaves the bar in the form (a short screen).
function measureDockedActions() {
  const docked = document.documentElement.classList.contains("actions-docked")
    && getComputedStyle(actions).position === "fixed";
  const height = docked ? `${actions.offsetHeight}px` : "0px";
  if (document.documentElement.style.getPropertyValue("--docked-height") !== height) {
    document.documentElement.style.setProperty("--docked-height", height);
  }
}

// Beside the docked button, in chosen-areas mode: how many areas all the photos waiting have, as the photos above and
// below the one on screen cannot be seen. Also the button's description, for a screen reader.
function showAreasSummary() {
  const options = currentOptions();
  const waiting = entries.filter((e) => e.state === "pending");
  let text = "";
  if (options.areas && waiting.length) {
    const counts = waiting.map((e) => (e.editor ? e.editor.areas.length : 0));
    const areas = counts.reduce((sum, n) => sum + n, 0);
    const photos = counts.filter((n) => n > 0).length;
    // short: on a 320 px phone it shares a line with the button (which says how many photos there are), wrapped
    // between its counts, never inside one ("1 area on" above "1 photo")
    const count = (n, one, many) => plural(n, one, many).replace(" ", "\u00a0");
    text = areas === 0 ? "No areas yet"
      : waiting.length === 1 ? `${count(areas, "area", "areas")} chosen`
        : `${count(areas, "area", "areas")} on ${count(photos, "photo", "photos")}`;
  }
  if (actionsSummary.textContent !== text) actionsSummary.textContent = text;
}

// Tells a screen reader `text` about the entry's photo (the card's live region), named: several photos may be
// uploading at once, and a message is heard without the card it is on. "" empties it (what was said of the areas
// while they were edited is not left there once the photo is sent).
function announce(entry, text) {
  entry.parts.announcer.textContent = text ? `${entry.file.name}: ${text}` : "";
}

// The card's state line, and (announced: true) the same words to a screen reader.
function showStateText(entry, text, { announced = true } = {}) {
  entry.parts.state.textContent = text;
  if (announced) announce(entry, text);
}

function setState(entry, state, text) {
  entry.state = state;
  entry.card.dataset.state = state;
  entry.parts.state.textContent = text;
  // (a photo that waits or fails says nothing here: what was said of its areas goes, as it is being sent)
  if (ANNOUNCED_STATES.has(state)) announce(entry, text);
  else if (state !== "pending") announce(entry, "");
  entry.parts.remove.hidden = !(state === "pending" || state === "done" || state === "failed");
  // A file the browser could not show has nothing to put side by side once it has failed.
  entry.parts.pictures.hidden = state === "failed" && entry.previewable === false;
  if (entry.editor) entry.editor.setLocked(state !== "pending");
  if (state === "done" || state === "failed") entry.work = null; // the preview's pixels are not needed any more
  showAreaTools(entry);
  refreshControls();
}

function setProgress(entry, fraction) {
  entry.parts.progress.value = Math.round(fraction * 100);
}

// A message in one of the entry's card's slots: an alert for what went wrong, a polite status for the rest. The
// same message again is left as it is (not announced again while an area is dragged, say). It starts with the
// photo's name for a screen reader only: it is heard without the card's title, and several photos may say the
// same at once ("Nothing is chosen…"); on screen the card says whose it is.
function showMessage(entry, slot, text, kind = "error") {
  const shown = slot.firstElementChild;
  if (shown && shown.className === kind && shown.dataset.text === text) return;
  slot.replaceChildren();
  if (!text) return;
  const message = document.createElement("p");
  message.className = kind;
  message.setAttribute("role", kind === "error" ? "alert" : "status");
  message.dataset.testid = kind;
  message.dataset.text = text;
  const name = document.createElement("span");
  name.className = "visually-hidden";
  name.textContent = `${entry.file.name}: `;
  message.append(name, text);
  slot.append(message);
}

// An error on the card, with a button to act on it ({label, run}) when there is something to try.
function showError(entry, text, action = null) {
  showMessage(entry, entry.parts.errorSlot, text);
  if (!action || !text) return;
  const button = document.createElement("button");
  button.type = "button";
  button.className = "retry secondary";
  button.dataset.testid = "retry";
  button.textContent = action.label;
  button.setAttribute("aria-label", `${action.label}: ${entry.file.name}`);
  button.addEventListener("click", () => {
    if (entry.state !== "failed" || !entries.includes(entry)) return;
    action.run();
    // the button is gone: focus goes to the card's state, which says what happens now
    entry.parts.state.tabIndex = -1;
    entry.parts.state.focus();
  }, { once: true });
  entry.parts.errorSlot.append(button);
}

// ---- chosen areas -----------------------------------------------------------------------------------

function showAreaTools(entry) {
  const { parts } = entry;
  const options = currentOptions();
  const editing = options.areas && entry.state === "pending";
  entry.card.classList.toggle("editing", editing && entry.editor != null);
  parts.tools.hidden = !editing;
  parts.help.hidden = !(editing && entry.editor);
  if (entry.editor) entry.editor.layer.hidden = !options.areas || entry.state === "done";
  if (entry.editor && !editing) entry.editor.select(null); // and its buttons go with the areas
  // drawn areas too many blocks across for a face in them to be hidden: said, not refused
  const large = editing && entry.editor ? describeLargeAreas(entry.editor.areas, options.pixelSize) : "";
  showMessage(entry, parts.noteSlot, large, "note");
  if (!editing) return;
  const count = entry.editor ? entry.editor.areas.length : 0;
  const faces = entry.editor ? entry.editor.areas.filter((a) => a.source === "face").length : 0;
  parts.findFaces.hidden = parts.addArea.hidden = !entry.editor;
  if (!entry.editor) {
    parts.count.classList.remove("full");
    parts.count.textContent = entry.previewable === false
      ? "This browser cannot show this photo, so no areas can be drawn on it: only faces the server finds are hidden."
      : entry.unsure ? "This photo's rotation could not be read, so areas drawn on it could land elsewhere: only faces the server finds are hidden."
        : "Loading the photo…";
    return;
  }
  parts.count.textContent = count
    ? `${plural(count, "area", "areas")} to pixelate${faces ? ` (${plural(faces, "face", "faces")} found)` : ""}`
      + (count >= MAX_AREAS ? ": the most one photo can have" : "")
    : "No areas yet";
  parts.count.classList.toggle("full", count >= MAX_AREAS);
  // "no more areas" holds until one is deleted
  if (count < MAX_AREAS && parts.faceSlot.querySelector(".area-limit")) parts.faceSlot.replaceChildren();
}

// "Nothing is chosen" holds until the areas or the options change.
function clearNothingChosen(entry) {
  if (entry.parts.errorSlot.querySelector(".nothing-chosen")) entry.parts.errorSlot.replaceChildren();
}

function areasChanged(entry) {
  clearNothingChosen(entry);
  showAreaTools(entry);
  showAreasSummary();
  queueRender(entry);
}

async function onFindFaces(entry) {
  const { parts, editor } = entry;
  if (!editor || entry.finding || entry.state !== "pending") return;
  entry.finding = true;
  parts.findFaces.setAttribute("aria-busy", "true");
  parts.findFaces.setAttribute("aria-disabled", "true");
  parts.findFaces.textContent = "Finding faces…";
  // the name holds the words shown (WCAG 2.5.3: a voice command says what it sees)
  parts.findFaces.setAttribute("aria-label", `Finding faces in ${entry.file.name}…`);
  showMessage(entry, parts.faceSlot, "Looking for faces in this photo…", "status");
  try {
    const faces = await findFaces(entry.work.image, editor.width, editor.height, (seconds) => {
      showMessage(entry, parts.faceSlot, `The face finder is busy: trying again in ${seconds} s…`, "status");
    });
    if (entry.state !== "pending") return;
    const added = editor.addFaces(faces);
    showMessage(entry, parts.faceSlot, describeFacesFound(faces.length, added), "status");
    areasChanged(entry);
  } catch (error) {
    showMessage(entry, parts.faceSlot, `Could not look for faces: ${error.message} You can still draw the areas yourself.`);
  } finally {
    entry.finding = false;
    parts.findFaces.removeAttribute("aria-busy");
    parts.findFaces.setAttribute("aria-disabled", "false");
    parts.findFaces.textContent = "Find faces";
    parts.findFaces.setAttribute("aria-label", `Find faces in ${entry.file.name}`);
  }
}

// ---- the preview ------------------------------------------------------------------------------------

function renderPreview(entry) {
  if (!entry.work || entry.state !== "pending") return;
  const options = currentOptions();
  const { preview } = entry.parts;
  let label;
  let caption;
  if (options.areas) {
    // an upright JPEG is pixelated in the DCT domain: each area grown to whole 8 or 16 px blocks
    const grid = dctGrid(entry.jpeg, options.method);
    const targets = areaTargets(entry.editor ? entry.editor.areas : [], options.pixelSize, grid, entry.work.width, entry.work.height);
    drawAreasPreview(preview, entry.work, targets, options.method);
    label = targets.length
      ? `Preview of ${entry.file.name} with ${plural(targets.length, "area", "areas")} pixelated at ${describeOptions(options)}`
      : `Preview of ${entry.file.name}: no areas chosen yet`;
    caption = targets.length
      ? `Preview: ${plural(targets.length, "area", "areas")} pixelated (${describeOptions(options)})`
      : "Preview: drag on the photo to choose an area";
  } else {
    drawPreview(preview, entry.work, options.pixelSize, options.method);
    label = `Preview of ${entry.file.name} pixelated at ${describeOptions(options)}`;
    caption = `Preview (${describeOptions(options)})`;
  }
  preview.setAttribute("aria-label", label);
  // What the canvas shows now, for tests and styles: the size, method and target it was drawn with.
  preview.dataset.pixelSize = String(options.pixelSize);
  preview.dataset.method = options.method;
  preview.dataset.target = options.areas ? "areas" : "whole";
  entry.parts.resultCaption.textContent = caption;
}

// Changes re-render on the next frame only, however fast the input (or pointer) events come.
function queueRender(entry) {
  if (entry) entry.renderWanted = true;
  else for (const e of entries) e.renderWanted = true;
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    for (const e of entries) {
      if (!e.renderWanted) continue;
      e.renderWanted = false;
      renderPreview(e);
    }
  });
}

function optionsChanged() {
  for (const entry of entries) {
    clearNothingChosen(entry);
    showAreaTools(entry);
  }
  showAreasSummary();
  queueRender();
}

// ---- file cards -------------------------------------------------------------------------------------

function buildCard(file) {
  const card = cardTemplate.content.firstElementChild.cloneNode(true);
  const part = (selector) => card.querySelector(selector);
  const parts = {
    title: part(".card-title"), meta: part(".card-meta"), progress: part(".progress"), state: part(".state"),
    errorSlot: part(".error-slot"), original: part(".original-image"), originalFigure: part(".picture.original"),
    stage: part(".stage"), preview: part(".preview"), layer: part(".areas"), resultCaption: part(".result-caption"),
    downloadRow: part(".download-row"), download: part(".download"), remove: part(".remove"),
    pictures: part(".pictures"), tools: part(".area-tools"), findFaces: part(".find-faces"), addArea: part(".add-area"),
    count: part(".area-count"), faceSlot: part(".face-slot"), noteSlot: part(".note-slot"), help: part(".area-help"),
    announcer: part(".announcer"), outlines: part(".toggle-outlines"), controls: part(".area-controls"),
  };
  cardCount += 1;
  parts.help.id = `area-help-${cardCount}`;
  parts.title.textContent = file.name;
  parts.meta.textContent = formatBytes(file.size);
  parts.progress.setAttribute("aria-label", `Upload progress of ${file.name}`);
  parts.remove.setAttribute("aria-label", `Remove ${file.name}`);
  parts.findFaces.setAttribute("aria-label", `Find faces in ${file.name}`);
  parts.addArea.setAttribute("aria-label", `Add an area to ${file.name}`);
  return { card, parts };
}

function startEditor(entry) {
  const { parts } = entry;
  // the photo's aspect ratio, for the stylesheet to keep the preview no taller than most of the screen
  parts.stage.style.setProperty("--ratio", String(entry.work.width / entry.work.height));
  entry.editor = new AreaEditor(parts.layer, {
    width: entry.work.width,
    height: entry.work.height,
    name: entry.file.name,
    helpId: parts.help.id,
    controls: parts.controls,
    onChange: () => areasChanged(entry),
    announce: (text) => { parts.announcer.textContent = text; },
    // the limit shown on the card too, not only announced
    onLimit: (text) => {
      showMessage(entry, parts.faceSlot, text, "warning");
      parts.faceSlot.firstChild.classList.add("area-limit");
    },
  });
  // the last area deleted from the keyboard: focus goes on to where another can be added
  parts.layer.addEventListener("areas-empty", () => parts.addArea.focus());
  parts.findFaces.addEventListener("click", () => onFindFaces(entry));
  parts.addArea.addEventListener("click", () => {
    if (entry.state === "pending") entry.editor.addCentred();
  });
}

function addFile(file) {
  const { card, parts } = buildCard(file);
  const entry = { file, card, parts, work: null, editor: null, state: "pending", objectUrl: URL.createObjectURL(file) };
  entries.push(entry);
  fileList.append(card);
  setState(entry, "pending", "Ready to upload");
  parts.remove.addEventListener("click", () => {
    const index = entries.indexOf(entry);
    removeEntry(entry);
    focusNear(index);
  });

  parts.original.alt = `Original: ${file.name}`;
  parts.original.addEventListener("load", async () => {
    try {
      // upright as the server sees it (a PNG or WebP the browser shows as stored is turned here)
      const photo = await uprightPhoto(parts.original, file);
      entry.jpeg = await readJpegLayout(file); // how the server will edit it, if it is a JPEG
      parts.meta.textContent = `${photo.width} × ${photo.height} pixels, ${formatBytes(file.size)}`;
      entry.work = await loadWorkingCopy(photo.image || parts.original, photo.width, photo.height);
      if (photo.turned) photo.image.toBlob((blob) => { parts.original.src = entry.uprightUrl = URL.createObjectURL(blob); });
      if (photo.image) startEditor(entry);
      else entry.unsure = true; // its orientation could not be read: an area might land elsewhere on the server
      showAreaTools(entry);
      renderPreview(entry);
    } catch {
      parts.resultCaption.textContent = "No preview";
    }
  }, { once: true });
  parts.original.addEventListener("error", () => {
    // The browser cannot show this file; the server has the last word (it reads HEIC and TIFF, say).
    parts.original.hidden = true;
    parts.preview.hidden = true;
    entry.previewable = false;
    parts.originalFigure.querySelector("figcaption").textContent = "No preview: this browser cannot show this file";
    parts.resultCaption.textContent = "Whether it can be pixelated is decided after upload";
    showAreaTools(entry);
  }, { once: true });
  parts.original.src = entry.objectUrl;
}

function removeEntry(entry) {
  const index = entries.indexOf(entry);
  if (index >= 0) entries.splice(index, 1);
  entry.card.remove();
  URL.revokeObjectURL(entry.objectUrl);
  if (entry.uprightUrl) URL.revokeObjectURL(entry.uprightUrl);
  refreshControls();
}

// Focus after cards were removed, `index` being where the first of them was: the card now there (or the last one,
// or the file input when none is left), on its Remove button (its title while it uploads and has none). Not the
// file input at the top every time: the person was working down the list.
function focusNear(index) {
  const entry = entries[Math.min(index, entries.length - 1)];
  if (!entry) {
    fileInput.focus();
    return;
  }
  const { remove, title } = entry.parts;
  if (!remove.hidden) {
    remove.focus();
    return;
  }
  title.tabIndex = -1;
  title.focus();
}

function addFiles(fileListLike) {
  for (const file of Array.from(fileListLike || [])) addFile(file);
  refreshControls();
}

// ---- results ----------------------------------------------------------------------------------------

function finishDone(entry, record, options, shown) {
  const { parts } = entry;
  const output = record.output || {};
  parts.stage.replaceChildren(shown);
  let caption = `Pixelated (${describeOptions(options)})`;
  // what was done, in the image's own words too: not "pixelated at 16 px" of a photo nothing was done to
  let alt = `${entry.file.name}, the whole photo pixelated (${describeOptions(options)})`;
  if (options.areas) {
    shown.classList.add("areas-result"); // mostly the photo as it was: not drawn blocky when scaled
    // an animation's faces carry the frames they were on: the still outlines show the first frame's
    // a face the server found where the person kept one is that face again: counted and outlined once
    const regions = mergeSameFaces((Array.isArray(record.regions) ? record.regions : []).filter((r) => !r.frames || r.frames[0] === 0));
    if (regions.length) {
      const how = `${describeOptions(options)}${describeFaceBlocks(regions, options.pixelSize)}`;
      caption = `Pixelated: ${describePixelated(regions)} (${how})`;
      alt = `${entry.file.name} with ${describePixelated(regions)} pixelated (${how}), the rest as it was`;
      if (shown.tagName === "IMG") parts.stage.append(outlineRegions(regions, output.width || shown.width, output.height || shown.height));
      parts.outlines.hidden = shown.tagName !== "IMG";
    } else {
      caption = "Nothing was pixelated";
      alt = `${entry.file.name} as it was: nothing was pixelated`;
      showMessage(entry, parts.errorSlot, "Nothing was pixelated: the server found no faces in this photo and no areas were chosen. "
        + "The result is the photo as it was.", "warning");
    }
  }
  if (shown.tagName === "IMG") shown.alt = alt;
  parts.resultCaption.textContent = caption;
  parts.download.href = record.image_url;
  parts.download.download = downloadName(entry.file.name, options.pixelSize, output.content_type);
  // the name of the file that is saved (a HEIC comes back as a JPEG, say), not the one uploaded
  parts.download.textContent = `Download ${parts.download.download}`;
  parts.downloadRow.hidden = false;
  const size = output.width ? `${output.width} × ${output.height} pixels, ` : "";
  setState(entry, "done", `Done: ${size}${formatBytes(output.bytes)}`);
}

// Shows the pixelated image once it has loaded. Formats a browser cannot display (TIFF, HEIC: the
// service answers in the format it was given) are still a success: the download link stays.
function showResult(entry, record, options) {
  const output = record.output || {};
  const image = document.createElement("img");
  image.className = "result-image";
  image.dataset.testid = "result-image";
  image.alt = ""; // said once it has loaded, when what was pixelated is known (finishDone)
  image.width = output.width || entry.parts.preview.width;
  image.height = output.height || entry.parts.preview.height;
  image.decoding = "async";
  return new Promise((resolve) => {
    image.addEventListener("load", () => {
      finishDone(entry, record, options, image);
      resolve();
    }, { once: true });
    image.addEventListener("error", async () => {
      let exists = false;
      try {
        exists = (await fetch(record.image_url, { method: "HEAD", cache: "no-store" })).ok;
      } catch {
        exists = false;
      }
      if (exists) {
        const note = document.createElement("p");
        note.className = "no-display";
        note.textContent = `This browser cannot display ${formatName(output.content_type)} images: download the result to see it.`;
        finishDone(entry, record, options, note);
      } else {
        setState(entry, "failed", "Failed");
        showError(entry, "The pixelated image was made but could not be loaded. Please reload the page and try again.");
      }
      resolve();
    }, { once: true });
    image.src = record.image_url;
  });
}

async function process(entry, options) {
  const { parts } = entry;
  entry.sent = options; // what a retry sends again: the same photo, areas and options
  parts.errorSlot.replaceChildren();
  parts.faceSlot.replaceChildren(); // what "Find faces" said is for the editing, over now
  let slot;
  setProgress(entry, 0);
  try {
    setState(entry, "requesting", "Preparing the upload…");
    const busy = (seconds) => showStateText(entry, `The service is busy: trying again in ${seconds} s…`);
    slot = await requestUpload(entry.file, options, busy);
    entry.card.dataset.uploadId = slot.id;
    setState(entry, "uploading", "Uploading… 0%");
    let told = 0;
    await postToStorage(slot.upload, entry.file, (fraction) => {
      setProgress(entry, fraction);
      const percent = Math.round(fraction * 100);
      const step = Math.floor(percent / ANNOUNCED_PROGRESS_STEP) * ANNOUNCED_PROGRESS_STEP;
      // 100 % is told as "Uploaded", next
      const tell = step > told && percent < 100;
      if (tell) told = step;
      showStateText(entry, `Uploading… ${percent}%`, { announced: tell });
    });
    setProgress(entry, 1);
  } catch (error) {
    failed(entry, error.message || String(error), error.retryable ? retryUpload(entry) : null);
    return;
  }
  await follow(entry, slot.id, options);
}

// "Try again": the same photo sent again, with the same areas and options.
function retryUpload(entry) {
  return { label: "Try again", run: () => process(entry, entry.sent) };
}

function failed(entry, text, action) {
  setState(entry, "failed", "Failed");
  showError(entry, text, action);
}

// Follows an upload's status to its result; when the service cannot be reached, says so and offers to go on.
async function follow(entry, id, options) {
  const { parts } = entry;
  parts.errorSlot.replaceChildren();
  entry.unknown = false;
  try {
    setState(entry, "processing", "Uploaded. Pixelating…");
    const busy = (seconds) => showStateText(entry, `The service is busy: trying again in ${seconds} s…`);
    const record = await followStatus(id, () => {
      showStateText(entry, "Still pixelating: this is taking longer than usual…");
    }, busy);
    if (record.state === "done" && record.image_url) {
      await showResult(entry, record, options);
    } else if (record.state === "done") {
      failed(entry, "The image was pixelated but the service gave no address for it. Please try again.", retryUpload(entry));
    } else {
      failed(entry, describeFailure(record), retryableFailure(record) ? retryUpload(entry) : null);
    }
  } catch (error) {
    if (error.keepChecking) {
      setState(entry, "failed", "Cannot reach the service");
      entry.unknown = true; // it may yet be pixelated: "Clear finished" leaves it
      showError(entry, error.message, { label: "Check again", run: () => follow(entry, id, options) });
    } else {
      failed(entry, error.message || String(error), null);
    }
  }
}

// The options one file is uploaded with: in chosen-areas mode, its own areas (and whether the server looks for
// faces); null when there is nothing to pixelate in it, said on its card.
function uploadOptions(entry, options) {
  if (!options.areas) return options;
  const regions = entry.editor ? entry.editor.regions() : [];
  if (!regions.length && !options.serverFaces) {
    // a photo with no editor (the browser cannot show it, or its rotation is unknown) has no areas to draw
    const why = entry.previewable === false ? "This browser cannot show this photo, so no areas can be drawn on it"
      : entry.unsure ? "This photo's rotation could not be read, so no areas can be drawn on it" : "";
    showMessage(entry, entry.parts.errorSlot, why
      ? `Nothing is chosen to pixelate in this photo. ${why}: tick “Also find faces on the server” to hide the faces `
        + "the server finds in it, or choose “Whole photo” to pixelate all of it."
      : "Nothing is chosen to pixelate in this photo: draw an area on it, use “Find faces”, "
        + "tick “Also find faces on the server”, or choose “Whole photo”.");
    entry.parts.errorSlot.firstChild.classList.add("nothing-chosen");
    return null;
  }
  return { ...options, regions, faces: options.serverFaces };
}

// Uploads pending files, a few at a time, each with the options shown when the button was pressed.
async function uploadPending() {
  const options = currentOptions();
  const queue = [];
  const refused = [];
  for (const entry of entries.filter((e) => e.state === "pending")) {
    const own = uploadOptions(entry, options);
    if (own) queue.push([entry, own]);
    else refused.push(entry);
  }
  for (const [entry] of queue) setState(entry, "queued", "Waiting to upload…");
  if (refused.length) showRefusal(refused[0]);
  const workers = Array.from({ length: Math.min(PARALLEL_UPLOADS, queue.length) }, async () => {
    while (queue.length) await process(...queue.shift());
  });
  await Promise.all(workers);
}

// The first photo that was not uploaded for want of anything chosen: its card at the top of the screen, focus on
// what it says. The Pixelate button is docked at the bottom, and the photo may be pages away from it.
function showRefusal(entry) {
  const message = entry.parts.errorSlot.firstElementChild;
  if (!message) return;
  message.tabIndex = -1;
  message.focus({ preventScroll: true });
  entry.card.scrollIntoView({ block: "start" });
}

// ---- wiring -----------------------------------------------------------------------------------------

function showSliderValue() {
  const value = clampPixelSize(slider.value);
  sliderValue.textContent = `${value} px`;
  slider.setAttribute("aria-valuetext", `${value} pixels`);
}

slider.addEventListener("input", () => {
  showSliderValue();
  optionsChanged();
});
form.addEventListener("change", (event) => {
  if (event.target.name === "target") serverFacesChoice.hidden = !currentOptions().areas;
  if (["method", "target", "faces"].includes(event.target.name)) optionsChanged();
});

fileInput.addEventListener("change", () => {
  addFiles(fileInput.files);
  fileInput.value = ""; // so choosing the same file again adds it again
});

form.addEventListener("submit", (event) => {
  event.preventDefault();
  if (uploadButton.getAttribute("aria-disabled") === "true") return;
  uploadPending();
});

clearButton.addEventListener("click", () => {
  // (a card whose progress is unknown, waiting on "Check again", is not finished)
  const finished = entries.filter((e) => e.state === "done" || (e.state === "failed" && !e.unknown));
  if (!finished.length) return;
  const first = entries.indexOf(finished[0]);
  for (const entry of finished) removeEntry(entry);
  // the button stays while a card waits on "Check again", and focus with it; else on to the photos that are left
  if (clearButton.hidden) focusNear(first);
});

// The result's outlines of what was pixelated can be hidden, to look at the picture alone.
fileList.addEventListener("click", (event) => {
  const toggle = event.target.closest(".toggle-outlines");
  if (!toggle) return;
  const shown = toggle.getAttribute("aria-pressed") !== "true";
  toggle.setAttribute("aria-pressed", String(shown));
  toggle.closest(".card").classList.toggle("outlines-hidden", !shown);
});

// Files may be dropped anywhere on the page.
acceptDroppedFiles(dropzone, addFiles);

// Measured again whenever the bar's size changes: its text wraps, a button comes or goes, the safe area changes;
// and when the screen changes height, which may dock it or leave it in the form (style.css).
new ResizeObserver(measureDockedActions).observe(actions);
window.addEventListener("resize", measureDockedActions);

slider.min = String(PIXEL_SIZE_MIN);
slider.max = String(PIXEL_SIZE_MAX);
serverFacesChoice.hidden = !currentOptions().areas;
showSliderValue();
refreshControls();
