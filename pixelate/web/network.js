// The page's conversations with the service: ask for an upload slot, post the file to storage, follow the
// status record, and ask where the faces are. Every failure becomes an Error whose message is for people.
import { contentTypeOf, describeApiError, describeStorageError } from "./words.js";

// The api paths, relative to the page: the page and the api share one origin (CloudFront, local edge).
const API_UPLOADS = "api/uploads";
const API_DETECT = "api/detect";
// Polling: first look soon (small images finish in well under a second), then back off.
const POLL_FIRST_MS = 300;
const POLL_FACTOR = 1.5;
const POLL_MAX_MS = 4000;
const POLL_SLOW_NOTICE_MS = 60_000;
const POLL_GIVE_UP_MS = 10 * 60_000;

const UNREACHABLE = "Could not reach the service. Check your connection and try again.";
const NOT_UNDERSTOOD = "The service gave an answer this page does not understand. Please try again later.";

// Following a status: this many status requests in a row that get no answer (the network fails, or the service
// answers 5xx) and at least this long since the last answer mean the service cannot be reached (~20 s of back-off).
const POLL_UNREACHABLE_TRIES = 8;
const POLL_UNREACHABLE_MS = 20_000;

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// An Error for people; `retryable` when the same request may well work a little later (the network, a busy or
// failing service), so that the page offers to try again; `keepChecking` when the upload went through and only
// its status could not be followed.
function failure(message, { retryable = false, keepChecking = false } = {}) {
  const error = new Error(message);
  error.retryable = retryable;
  error.keepChecking = keepChecking;
  return error;
}

// A busy service (429 Too Many Requests, 503 Unavailable) is asked again: after its Retry-After when it gives
// one (capped), else after an exponential back-off with full jitter; RETRY_TRIES requests at most, the last
// answer returned as it came. `onBusy(seconds)` tells the person why nothing moves.
const RETRY_TRIES = 5;
const RETRY_BASE_MS = 500;
const RETRY_CAP_MS = 8000;
const RETRY_AFTER_MAX_MS = 30_000;

function retryDelayMs(response, attempt) {
  const header = response.headers.get("Retry-After");
  if (header) {
    const seconds = Number(header);
    const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - Date.now();
    if (Number.isFinite(ms)) return Math.min(Math.max(ms, 0), RETRY_AFTER_MAX_MS);
  }
  return Math.random() * Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** attempt);
}

async function fetchWithRetry(url, init, onBusy) {
  for (let attempt = 1; ; attempt++) {
    const response = await fetch(url, init);
    if ((response.status !== 429 && response.status !== 503) || attempt >= RETRY_TRIES) return response;
    const delay = retryDelayMs(response, attempt - 1);
    if (onBusy) onBusy(Math.max(1, Math.ceil(delay / 1000)));
    await sleep(delay);
  }
}

async function readJson(response) {
  try {
    return await response.json();
  } catch {
    return null;
  }
}

// POST /api/uploads. `options.regions` (a list of [x, y, w, h] in the upright photo's pixels) and
// `options.faces` are sent only when the chosen areas are to be pixelated; the api signs them into the upload.
export async function requestUpload(file, options, onBusy) {
  const request = {
    filename: file.name,
    content_type: contentTypeOf(file),
    size: file.size,
    pixel_size: options.pixelSize,
    method: options.method,
  };
  if (options.regions && options.regions.length) request.regions = options.regions;
  if (options.faces) request.faces = true;
  let response;
  try {
    response = await fetchWithRetry(API_UPLOADS, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(request),
    }, onBusy);
  } catch {
    throw failure(UNREACHABLE, { retryable: true });
  }
  const body = await readJson(response);
  if (!response.ok) {
    throw failure(describeApiError(response.status, body, file), { retryable: response.status >= 500 || response.status === 429 });
  }
  if (!body || !body.id || !body.upload || !body.upload.url) throw failure(NOT_UNDERSTOOD, { retryable: true });
  return body;
}

// The presigned POST: every signed field first, the file last (S3 ignores fields after the file).
// XMLHttpRequest rather than fetch, because only it reports upload progress.
export function postToStorage(upload, file, onProgress) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(upload.fields || {})) form.append(name, value);
    form.append("file", file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", upload.url);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve();
      // a refused link (expired, say) is asked for again on a retry; a file too large or too small stays so
      else reject(failure(describeStorageError(xhr.status, xhr.responseText), { retryable: xhr.status >= 500 || xhr.status === 403 }));
    };
    xhr.onerror = () => reject(failure(describeStorageError(0, ""), { retryable: true }));
    xhr.ontimeout = () => reject(failure("The upload took too long. Check your connection and try again.", { retryable: true }));
    xhr.send(form);
  });
}

// Follows GET /api/uploads/{id} until the record is final. A 404 means "no status yet"; server errors
// are retried like a missing status, since the record will still come; but when nothing has answered for a while
// (POLL_UNREACHABLE_TRIES requests in a row, POLL_UNREACHABLE_MS), it stops and says the service cannot be reached
// (an Error with `keepChecking`: the page offers to go on).
export async function followStatus(id, onSlow, onBusy) {
  const url = `${API_UPLOADS}/${encodeURIComponent(id)}`;
  const started = Date.now();
  let delay = POLL_FIRST_MS;
  let warned = false;
  let unanswered = 0;
  let answered = started;
  const noAnswer = () => {
    unanswered += 1;
    if (unanswered >= POLL_UNREACHABLE_TRIES && Date.now() - answered >= POLL_UNREACHABLE_MS) {
      throw failure("The service cannot be reached, so this image's progress is unknown: the connection or the "
        + "service is down. It may still be pixelated: check again in a moment.", { keepChecking: true });
    }
  };
  for (;;) {
    await sleep(delay);
    delay = Math.min(POLL_MAX_MS, delay * POLL_FACTOR);
    const waited = Date.now() - started;
    if (waited > POLL_GIVE_UP_MS) {
      throw failure("The service has not finished this image after ten minutes. Please check again later.", { keepChecking: true });
    }
    if (!warned && waited > POLL_SLOW_NOTICE_MS) {
      warned = true;
      onSlow();
    }
    let response;
    try {
      response = await fetchWithRetry(url, { headers: { Accept: "application/json" }, cache: "no-store" }, onBusy);
    } catch {
      noAnswer(); // offline for a moment: keep trying, for a while
      continue;
    }
    if (response.status >= 500) {
      noAnswer();
      continue;
    }
    unanswered = 0;
    answered = Date.now();
    if (response.status === 404 || response.status === 429) continue;
    const body = await readJson(response);
    if (!response.ok) throw new Error(describeApiError(response.status, body));
    if (body && (body.state === "done" || body.state === "failed")) return body;
  }
}

// POST /api/detect with an image (a Blob: a reduced copy of a photo of photoWidth × photoHeight, upright):
// {width, height, faces: [{x, y, w, h, score}]} in the pixels of the copy.
export async function detectFaces(blob, photoWidth, photoHeight, onBusy) {
  let response;
  // the photo's own size: the server looks for the faces an upload of the photo would get, not the copy's
  const url = `${API_DETECT}?width=${photoWidth}&height=${photoHeight}`;
  try {
    response = await fetchWithRetry(url, {
      method: "POST",
      headers: { "Content-Type": blob.type || "image/jpeg", Accept: "application/json" },
      body: blob,
    }, onBusy);
  } catch {
    throw new Error(UNREACHABLE);
  }
  const body = await readJson(response);
  if (!response.ok) {
    if (response.status >= 500 || response.status === 429) {
      throw new Error("The face finder is busy or briefly unavailable. Please try again in a moment.");
    }
    throw new Error(describeApiError(response.status, body).replace("this upload", "this photo"));
  }
  if (!body || !Array.isArray(body.faces) || !(body.width > 0) || !(body.height > 0)) throw new Error(NOT_UNDERSTOOD);
  return body;
}
