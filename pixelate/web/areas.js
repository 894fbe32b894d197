// The areas to pixelate on one photo: rectangles drawn, moved, resized and deleted on its preview with a mouse,
// a finger, a pen (Pointer Events) or the keyboard.
//
// An area is kept in the photo's own upright pixels ({x, y, w, h}, whole numbers, inside the photo), whatever
// size the preview is shown at: that is what the api takes as `regions`. On screen each area is a focusable
// element placed in percentages of the photo (CSS custom properties set through the CSSOM, which a strict
// Content-Security-Policy allows), so it follows the preview at any size.

// Most areas one photo may have: the api's limit (pixelate/image/options.py, MAX_REGIONS).
export const MAX_AREAS = 64;
// A press that moves less than this many CSS pixels is a click (select, or deselect on the bare photo), not a drag.
const DRAG_THRESHOLD = 4;
// A finger or a pen on an area's × deletes it only when lifted over the × having moved less than this many CSS
// pixels: a touch meant to resize the box by its edge, begun on the ×, is not a delete.
const TAP_SLOP = 10;
// The smallest area, each way: this many pixels of the photo, and this many CSS pixels on screen. A draw smaller
// than that is a click (a press that slipped), and a resize stops there: an area is never a sliver too thin to see.
const MIN_PHOTO_PIXELS = 8;
const MIN_SCREEN_PIXELS = 6;
// Keyboard steps: a hundredth of the photo's longer side, ten times that with Shift.
const STEP_SHARE = 0.01;
const BIG_STEP = 10;
// A click on one of the buttons under the photo (move, wider, narrower...) moves or resizes the selected area by
// this share of the photo's longer side: twice a key's step, as a click is slower to repeat than a key.
const CONTROL_STEP_SHARE = 0.02;
const HANDLES = ["nw", "n", "ne", "e", "se", "s", "sw", "w"];
// Room an area's label and × need above it (CSS px) before they go below it instead: a finger's × sits above the
// top handles (style.css), ~84 px up; a mouse's above its smaller handles, ~46 px up.
const ABOVE_COARSE = 90;
const ABOVE_FINE = 50;
// A found face that overlaps an area already there this much (intersection over union) is that area again.
const SAME_AREA_OVERLAP = 0.5;

function clamp(value, low, high) {
  return Math.min(high, Math.max(low, value));
}

// Whether a pointer has moved more than TAP_SLOP CSS pixels from where it went down ({x, y}).
function tapSlipped(down, event) {
  return Math.hypot(event.clientX - down.x, event.clientY - down.y) >= TAP_SLOP;
}

// Whether a pointer is over `el` now (a touch's events keep going to the element it went down on, wherever it is).
function isOver(el, event) {
  const r = el.getBoundingClientRect();
  return event.clientX >= r.left && event.clientX <= r.right && event.clientY >= r.top && event.clientY <= r.bottom;
}

function overlap(a, b) {
  const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const shared = w * h;
  return shared / (a.w * a.h + b.w * b.h - shared);
}

export class AreaEditor {
  /**
   * @param layer   the element laid over the preview, as large as the photo on screen
   * @param options {width, height} the photo's upright size in pixels; name: the file's name; helpId: the id of
   *                the text that explains the keys; controls: the buttons that move and resize the selected area
   *                with single clicks (the card's .area-controls); onChange(): called whenever an area changes;
   *                announce(text): tells assistive technology what happened (a live region)
   */
  constructor(layer, { width, height, name, helpId, controls, onChange, announce, onLimit }) {
    this.layer = layer;
    this.width = width;
    this.height = height;
    this.name = name;
    this.helpId = helpId;
    this.controls = controls || null;
    this.onChange = onChange || (() => {});
    this.announce = announce || (() => {});
    this.onLimit = onLimit || (() => {});
    this.areas = [];
    this.drag = null;
    this.locked = false;
    this.selected = null;
    this.nextId = 1;
    layer.classList.add("areas");
    layer.setAttribute("role", "group");
    layer.setAttribute("aria-label", `Areas to pixelate on ${name}`);
    layer.addEventListener("pointerdown", (event) => this.pointerDown(event));
    layer.addEventListener("pointermove", (event) => this.pointerMove(event));
    layer.addEventListener("pointerup", (event) => this.pointerUp(event));
    layer.addEventListener("pointercancel", (event) => this.pointerCancel(event));
    layer.addEventListener("lostpointercapture", (event) => {
      // the layer's own capture lost while dragging (not an area's implicit touch capture handed to the layer)
      if (event.target === layer) this.pointerCancel(event);
    });
    layer.addEventListener("keydown", (event) => this.keyDown(event));
    // Escape while dragging, wherever focus is: drawing a new area gives no area focus, so the key may not reach
    // the layer (listened to on the document only while a drag lasts)
    this.escapeDrag = (event) => {
      if (event.key !== "Escape" || !this.drag) return;
      event.preventDefault();
      event.stopPropagation();
      this.endDrag(true);
    };
    // a drag never starts the browser's own image drag or text selection
    layer.addEventListener("dragstart", (event) => event.preventDefault());
    // The selected area is the one focused last: the buttons under the photo act on it. It stays selected when
    // focus moves on (to those buttons, where a screen reader may put it, or anywhere else) until another area is
    // selected, the bare photo clicked or the area deleted: buttons hidden as focus left would pull what is below
    // them up from under a pressing pointer (measured: a click on the next photo's "Add an area" was lost).
    layer.addEventListener("focusin", (event) => {
      const el = event.target.closest(".area");
      const area = el && this.areas.find((a) => a.el === el);
      if (area) this.select(area);
    });
    if (this.controls) {
      // A press on a button (or between them) leaves focus on the area (the browser would move it to the button,
      // or to the page): the area stays selected and ringed, and the arrow keys go on working on it.
      this.controls.addEventListener("mousedown", (event) => event.preventDefault());
      this.controls.addEventListener("click", (event) => {
        const button = event.target.closest("button[data-control]");
        if (button) this.control(button.dataset.control);
      });
      // the keyboard has the arrows on the area itself: the buttons add no tab stops (a screen reader still
      // finds and presses them)
      for (const button of this.controls.querySelectorAll("button")) button.tabIndex = -1;
      this.showControls();
    }
  }

  /** The areas as the api's `regions`: [[x, y, w, h], ...] in the photo's pixels; a face ends with "face", so
   * that the server pixelates it with a face's block (at most 8 blocks across it) whatever the pixel size. */
  regions() {
    return this.areas.map((a) => (a.source === "face" ? [a.x, a.y, a.w, a.h, "face"] : [a.x, a.y, a.w, a.h]));
  }

  /** No more changes (the photo is being uploaded, or done): areas stay visible, nothing reacts. */
  setLocked(locked) {
    this.locked = locked;
    this.endDrag(true);
    this.layer.classList.toggle("locked", locked);
    for (const area of this.areas) area.el.tabIndex = locked ? -1 : 0;
    if (locked) this.select(null);
  }

  // No area selected, none focused: a click on the bare photo.
  deselect() {
    if (this.layer.contains(document.activeElement)) document.activeElement.blur();
    this.select(null);
  }

  /** `area` (or null) becomes the selected one: drawn as such, and the one the buttons under the photo act on. */
  select(area) {
    if (area === this.selected) return;
    if (this.selected) this.selected.el.classList.remove("selected");
    this.selected = area && !this.locked ? area : null;
    if (this.selected) this.selected.el.classList.add("selected");
    this.showControls();
  }

  // The buttons under the photo: shown while an area is selected, named after it.
  showControls() {
    const controls = this.controls;
    if (!controls) return;
    const area = this.selected;
    controls.hidden = !area;
    if (!area) return;
    const n = this.areas.indexOf(area) + 1;
    controls.setAttribute("aria-label", `Move or resize area ${n} on ${this.name}`);
    const name = controls.querySelector(".area-controls-name");
    if (name) name.textContent = `Area ${n}`;
  }

  /** One step of a button under the photo on the selected area: "left", "right", "up", "down" move it; "wider",
   * "narrower", "taller", "shorter" resize it about its middle; never out of the photo, nor below the smallest. */
  control(action) {
    const area = this.selected;
    if (!area || this.locked || this.drag) return;
    const step = Math.max(1, Math.round(Math.max(this.width, this.height) * CONTROL_STEP_SHARE));
    const moves = { left: [-1, 0], right: [1, 0], up: [0, -1], down: [0, 1] };
    let { x, y, w, h } = area;
    if (moves[action]) {
      x = clamp(x + moves[action][0] * step, 0, this.width - w);
      y = clamp(y + moves[action][1] * step, 0, this.height - h);
    } else {
      const least = this.minSize();
      // about the middle: half the step on each side (all of it on one side against the photo's edge)
      const resize = (at, length, total, change, smallest) => {
        const next = clamp(length + change, Math.min(smallest, length), total);
        return [clamp(Math.round(at + (length - next) / 2), 0, total - next), next];
      };
      if (action === "wider") [x, w] = resize(x, w, this.width, step, least.w);
      else if (action === "narrower") [x, w] = resize(x, w, this.width, -step, least.w);
      else if (action === "taller") [y, h] = resize(y, h, this.height, step, least.h);
      else if (action === "shorter") [y, h] = resize(y, h, this.height, -step, least.h);
      else return;
    }
    this.setBox(area, x, y, x + w, y + h);
    this.announce(this.describe(area));
    this.onChange();
  }

  /** A new area ({x, y, w, h, source?, score?}), clipped to the photo; null when the photo has MAX_AREAS. */
  add(box, { focus = false, quiet = false } = {}) {
    if (this.areas.length >= MAX_AREAS) {
      const text = `This photo already has ${MAX_AREAS} areas, the most one photo can have: delete one to add another.`;
      this.announce(text);
      this.onLimit(text);
      return null;
    }
    const area = { id: this.nextId++, source: box.source || "manual", score: box.score, el: this.element() };
    this.setBox(area, box.x, box.y, box.x + box.w, box.y + box.h);
    this.areas.push(area);
    this.layer.append(area.el);
    this.relabel();
    if (focus) {
      area.el.focus({ preventScroll: true });
      this.reveal(area);
    }
    if (!quiet) this.announce(`Added ${this.describe(area)}.`);
    this.onChange();
    return area;
  }

  /** An area in the middle of the photo, a quarter of its width and height, selected: the keyboard's way to draw. */
  addCentred() {
    const least = this.minSize();
    const w = Math.max(least.w, Math.round(this.width / 4));
    const h = Math.max(least.h, Math.round(this.height / 4));
    // each new one a little lower and to the right, so that they do not hide each other
    const shift = (this.areas.length % 8) * Math.round(Math.max(this.width, this.height) * 0.03);
    const x = clamp(Math.round((this.width - w) / 2) + shift, 0, this.width - w);
    const y = clamp(Math.round((this.height - h) / 2) + shift, 0, this.height - h);
    return this.add({ x, y, w, h }, { focus: true });
  }

  /** Faces found ({x, y, w, h, score}) added as areas marked as faces, except where an area already is one; in
   * reading order (numbered and Tab-ordered top to bottom, then left to right), not the detector's. */
  addFaces(faces) {
    let added = 0;
    for (const face of readingOrder(faces)) {
      if (this.areas.some((a) => overlap(a, face) >= SAME_AREA_OVERLAP)) continue;
      if (!this.add({ ...face, source: "face" }, { quiet: true })) break;
      added += 1;
    }
    return added;
  }

  remove(area, { refocus = false, quiet = false } = {}) {
    const index = this.areas.indexOf(area);
    if (index < 0) return;
    const label = this.describe(area);
    if (area === this.selected) this.select(null);
    this.areas.splice(index, 1);
    area.el.remove();
    this.relabel();
    if (!quiet) this.announce(`Deleted ${label}.`);
    if (refocus) {
      const next = this.areas[Math.min(index, this.areas.length - 1)];
      if (next) {
        next.el.focus({ preventScroll: true });
        this.reveal(next);
      } else {
        this.layer.dispatchEvent(new CustomEvent("areas-empty", { bubbles: true }));
      }
    }
    this.showControls(); // the selected area's number may have changed
    this.onChange();
  }

  // Scrolls the page as little as it takes for `area` to be wholly on screen, its label, × and focus ring
  // included (its scroll-margin in style.css) and clear of the docked Pixelate bar (the page's scroll-padding).
  // Not while a pointer drags it: the page would move under the pointer.
  reveal(area) {
    area.el.scrollIntoView({ block: "nearest", inline: "nearest" });
  }

  // ---- one area's element -----------------------------------------------------------------------------

  element() {
    const el = document.createElement("div");
    el.className = "area";
    el.tabIndex = this.locked ? -1 : 0;
    el.setAttribute("role", "group");
    el.setAttribute("aria-roledescription", "area to pixelate");
    if (this.helpId) el.setAttribute("aria-describedby", this.helpId);
    el.dataset.testid = "area";
    const tag = document.createElement("span");
    tag.className = "area-tag";
    tag.setAttribute("aria-hidden", "true");
    el.append(tag);
    for (const edge of HANDLES) {
      const handle = document.createElement("span");
      handle.className = `handle handle-${edge}`;
      handle.dataset.handle = edge;
      handle.setAttribute("aria-hidden", "true");
      el.append(handle);
    }
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "area-delete";
    remove.tabIndex = -1; // the keyboard has Delete and Backspace on the area itself: one tab stop per area
    remove.textContent = "×";
    const activate = () => {
      const area = this.areas.find((a) => a.el === el);
      if (area && !this.locked) this.remove(area, { refocus: true });
    };
    // A finger or a pen deletes on lifting: the click a browser makes of a tap can be lost when the tap comes
    // right after a drag (measured in Chromium: most taps within ~0.3 s of the end of a drag made no click). Only a
    // tap deletes: lifted over the ×, never having moved more than TAP_SLOP (a drag that starts on it is not one).
    let pressed = null;
    remove.addEventListener("pointerdown", (event) => {
      event.stopPropagation(); // not the start of a move of the area
      if (event.pointerType === "mouse") return;
      // no mouse events made of the touch: their mousedown would take focus from where deleting puts it
      event.preventDefault();
      pressed = { id: event.pointerId, x: event.clientX, y: event.clientY, slipped: false };
    });
    remove.addEventListener("pointermove", (event) => {
      if (pressed && event.pointerId === pressed.id && tapSlipped(pressed, event)) pressed.slipped = true;
    });
    remove.addEventListener("pointercancel", () => { pressed = null; });
    remove.addEventListener("pointerup", (event) => {
      if (!pressed || event.pointerId !== pressed.id) return;
      const tapped = !pressed.slipped && !tapSlipped(pressed, event) && isOver(remove, event);
      pressed = null;
      event.preventDefault();
      if (tapped) activate();
    });
    remove.addEventListener("click", (event) => {
      // a finger's or a pen's click is the tap already judged on pointerup; the mouse and assistive technology click
      if (event.pointerType === "touch" || event.pointerType === "pen") return;
      activate();
    });

    el.append(remove);
    return el;
  }

  // Sets an area to the corners given (photo pixels), rounded to whole pixels, inside the photo, at least 1×1.
  setBox(area, x0, y0, x1, y1) {
    const left = clamp(Math.floor(Math.min(x0, x1)), 0, this.width - 1);
    const top = clamp(Math.floor(Math.min(y0, y1)), 0, this.height - 1);
    const right = clamp(Math.ceil(Math.max(x0, x1)), left + 1, this.width);
    const bottom = clamp(Math.ceil(Math.max(y0, y1)), top + 1, this.height);
    Object.assign(area, { x: left, y: top, w: right - left, h: bottom - top });
    const { style, dataset } = area.el;
    style.setProperty("--x", `${(100 * area.x) / this.width}%`);
    style.setProperty("--y", `${(100 * area.y) / this.height}%`);
    style.setProperty("--w", `${(100 * area.w) / this.width}%`);
    style.setProperty("--h", `${(100 * area.h) / this.height}%`);
    Object.assign(dataset, { x: area.x, y: area.y, w: area.w, h: area.h, source: area.source });
    // near the top of the photo, the label and the × go below the box, where they stay on the photo
    area.el.classList.toggle("near-top", area.y < this.height * 0.1 || this.onScreen(area.y) < this.roomAbove());
    this.label(area);
  }

  // A photo y (pixels) as CSS pixels down from the photo's top, as shown now (Infinity before it is shown).
  onScreen(y) {
    const shown = this.layer.getBoundingClientRect().height;
    return shown > 0 ? (y / this.height) * shown : Infinity;
  }

  roomAbove() {
    return window.matchMedia("(pointer: coarse)").matches ? ABOVE_COARSE : ABOVE_FINE;
  }

  describe(area) {
    const n = this.areas.indexOf(area) + 1;
    const what = area.source === "face" ? `area ${n}, a face` : `area ${n}`;
    return `${what}: ${area.w} by ${area.h} pixels, ${area.x} from the left and ${area.y} from the top`;
  }

  label(area) {
    const n = this.areas.indexOf(area) + 1;
    if (n === 0) return;
    const text = this.describe(area);
    area.el.setAttribute("aria-label", text[0].toUpperCase() + text.slice(1));
    area.el.querySelector(".area-tag").textContent = area.source === "face" ? `${n} · face` : String(n);
    area.el.querySelector(".area-delete").setAttribute("aria-label", `Delete area ${n}`);
  }

  relabel() {
    for (const area of this.areas) this.label(area);
    this.showControls();
  }

  // ---- pointer: draw on the bare photo, move by the body, resize by a handle --------------------------------

  toPhoto(event) {
    const rect = this.layer.getBoundingClientRect();
    return {
      x: clamp(((event.clientX - rect.left) / rect.width) * this.width, 0, this.width),
      y: clamp(((event.clientY - rect.top) / rect.height) * this.height, 0, this.height),
    };
  }

  /** The smallest an area may be ({w, h}, photo pixels): MIN_PHOTO_PIXELS, and MIN_SCREEN_PIXELS as the photo is
   * shown now; never more than the photo. */
  minSize() {
    const rect = this.layer.getBoundingClientRect();
    const perCss = (length, shown) => (shown > 0 ? Math.ceil((MIN_SCREEN_PIXELS * length) / shown) : 0);
    return {
      w: Math.min(this.width, Math.max(MIN_PHOTO_PIXELS, perCss(this.width, rect.width))),
      h: Math.min(this.height, Math.max(MIN_PHOTO_PIXELS, perCss(this.height, rect.height))),
    };
  }

  pointerDown(event) {
    if (this.drag && event.pointerId !== this.drag.pointerId) {
      // a second finger (a pinch, say) while one draws or drags: not what the first meant, so it is undone, as if
      // the browser had taken the pointer (pointercancel)
      this.endDrag(true);
      return;
    }
    if (this.locked || this.drag || !event.isPrimary) return;
    if (event.pointerType === "mouse" && event.button !== 0) return;
    const handle = event.target.closest("[data-handle]");
    const el = event.target.closest(".area");
    const area = el ? this.areas.find((a) => a.el === el) : null;
    const at = this.toPhoto(event);
    event.preventDefault(); // no text selection, no native drag; focus is given below
    this.layer.setPointerCapture(event.pointerId);
    const start = area ? { x: area.x, y: area.y, w: area.w, h: area.h } : null;
    this.drag = {
      pointerId: event.pointerId, area, start, at, client: { x: event.clientX, y: event.clientY },
      kind: handle && area ? "resize" : area ? "move" : "draw", edges: handle ? handle.dataset.handle : "", moved: false,
    };
    if (area) area.el.focus({ preventScroll: true });
    this.layer.classList.add("dragging");
    document.addEventListener("keydown", this.escapeDrag, true);
  }

  pointerMove(event) {
    const drag = this.drag;
    if (!drag || event.pointerId !== drag.pointerId) return;
    if (!drag.moved) {
      if (Math.hypot(event.clientX - drag.client.x, event.clientY - drag.client.y) < DRAG_THRESHOLD) return;
      drag.moved = true;
      if (drag.kind === "draw") {
        drag.area = this.add({ x: drag.at.x, y: drag.at.y, w: 1, h: 1 }, { quiet: true });
        if (!drag.area) return this.endDrag(false);
        drag.area.el.classList.add("drawing");
      }
    }
    const p = this.toPhoto(event);
    const { area, start, at } = drag;
    if (drag.kind === "draw") {
      this.setBox(area, at.x, at.y, p.x, p.y);
    } else if (drag.kind === "move") {
      const x = clamp(Math.round(start.x + p.x - at.x), 0, this.width - start.w);
      const y = clamp(Math.round(start.y + p.y - at.y), 0, this.height - start.h);
      this.setBox(area, x, y, x + start.w, y + start.h);
    } else {
      let [x0, y0, x1, y1] = [start.x, start.y, start.x + start.w, start.y + start.h];
      const dx = p.x - at.x;
      const dy = p.y - at.y;
      // an edge stops the smallest area's size short of the opposite edge (or where it was, for a smaller area: a
      // tiny face found): an area never turns inside out or shrinks to a sliver
      const least = this.minSize();
      const minW = Math.min(least.w, start.w);
      const minH = Math.min(least.h, start.h);
      if (drag.edges.includes("w")) x0 = clamp(Math.round(x0 + dx), 0, x1 - minW);
      if (drag.edges.includes("e")) x1 = clamp(Math.round(x1 + dx), x0 + minW, this.width);
      if (drag.edges.includes("n")) y0 = clamp(Math.round(y0 + dy), 0, y1 - minH);
      if (drag.edges.includes("s")) y1 = clamp(Math.round(y1 + dy), y0 + minH, this.height);
      this.setBox(area, x0, y0, x1, y1);
    }
    this.onChange();
  }

  pointerUp(event) {
    const drag = this.drag;
    if (!drag || event.pointerId !== drag.pointerId) return;
    this.endDrag(false);
    if (!drag.moved) {
      // a click: on an area it selects it (focused at pointerdown); on the bare photo it deselects
      if (!drag.area) this.deselect();
      return;
    }
    drag.area.el.classList.remove("drawing");
    if (drag.kind === "draw") {
      const least = this.minSize();
      if (drag.area.w < least.w || drag.area.h < least.h) {
        // smaller than an area can be: a press that slipped, taken as a click on the bare photo
        this.remove(drag.area, { quiet: true });
        this.deselect();
        return;
      }
      drag.area.el.focus({ preventScroll: true });
      this.announce(`Added ${this.describe(drag.area)}.`);
    } else {
      this.announce(`${drag.kind === "move" ? "Moved" : "Resized"} ${this.describe(drag.area)}.`);
    }
  }

  // The browser took the pointer away (a system gesture, say): the area goes back to where it was.
  pointerCancel(event) {
    const drag = this.drag;
    if (!drag || event.pointerId !== drag.pointerId) return;
    this.endDrag(true);
  }

  endDrag(restore) {
    const drag = this.drag;
    if (!drag) return;
    this.drag = null;
    this.layer.classList.remove("dragging");
    document.removeEventListener("keydown", this.escapeDrag, true);
    if (this.layer.hasPointerCapture(drag.pointerId)) this.layer.releasePointerCapture(drag.pointerId);
    if (!restore || !drag.moved || !drag.area) return;
    if (drag.kind === "draw") {
      this.remove(drag.area, { quiet: true });
    } else {
      const { x, y, w, h } = drag.start;
      this.setBox(drag.area, x, y, x + w, y + h);
      this.onChange();
    }
  }

  // ---- keyboard: arrows move, Alt+arrows resize, Shift for bigger steps, Delete removes --------------------

  keyDown(event) {
    if (event.key === "Escape" && this.drag) {
      this.endDrag(true); // Escape during a drag puts the area back (or drops the one being drawn)
      event.preventDefault();
      return;
    }
    const el = event.target.closest(".area");
    const area = el && this.areas.find((a) => a.el === el);
    if (!area || this.locked) return;
    if (event.key === "Delete" || event.key === "Backspace") {
      event.preventDefault();
      this.remove(area, { refocus: true });
      return;
    }
    const arrows = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    const direction = arrows[event.key];
    if (!direction || event.ctrlKey || event.metaKey || this.drag) return;
    event.preventDefault(); // the page does not scroll while an area moves
    const step = Math.max(1, Math.round(Math.max(this.width, this.height) * STEP_SHARE)) * (event.shiftKey ? BIG_STEP : 1);
    const [dx, dy] = direction.map((d) => d * step);
    if (event.altKey) {
      // resize: the right and bottom edges move, the top-left corner stays; no smaller than the smallest area
      const least = this.minSize();
      this.setBox(area, area.x, area.y, clamp(area.x + area.w + dx, area.x + Math.min(least.w, area.w), this.width),
        clamp(area.y + area.h + dy, area.y + Math.min(least.h, area.h), this.height));
    } else {
      const x = clamp(area.x + dx, 0, this.width - area.w);
      const y = clamp(area.y + dy, 0, this.height - area.h);
      this.setBox(area, x, y, x + area.w, y + area.h);
    }
    this.reveal(area); // moved under the docked bar, or off the screen: the page follows it
    this.announce(this.describe(area));
    this.onChange();
  }
}

/** `boxes` ({x, y, w, h}) in reading order: rows top to bottom (a box whose middle is level with a row's first box
 * joins that row), each row left to right. */
export function readingOrder(boxes) {
  const rows = [];
  for (const box of [...boxes].sort((a, b) => a.y - b.y || a.x - b.x)) {
    const middle = box.y + box.h / 2;
    const row = rows.find((r) => middle >= r.top && middle < r.bottom);
    if (row) row.boxes.push(box);
    else rows.push({ top: box.y, bottom: box.y + box.h, boxes: [box] });
  }
  return rows.flatMap((r) => r.boxes.sort((a, b) => a.x - b.x));
}

/** Outlines of what the server pixelated (a status record's `regions`: {x, y, w, h, source}) over a result
 * `width` × `height` pixels: a layer to lay over the result image, hidden from assistive technology (the
 * caption says the same in words). */
export function outlineRegions(regions, width, height) {
  const layer = document.createElement("div");
  layer.className = "result-areas";
  layer.setAttribute("aria-hidden", "true");
  for (const region of Array.isArray(regions) ? regions : []) {
    const box = document.createElement("div");
    box.className = "result-area";
    box.dataset.source = region.source === "face" ? "face" : "manual";
    box.style.setProperty("--x", `${(100 * region.x) / width}%`);
    box.style.setProperty("--y", `${(100 * region.y) / height}%`);
    box.style.setProperty("--w", `${(100 * region.w) / width}%`);
    box.style.setProperty("--h", `${(100 * region.h) / height}%`);
    layer.append(box);
  }
  return layer;
}
