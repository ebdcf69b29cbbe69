// photoseek's page script: search / ask from the one box, a thumbnail grid with explanations,
// relevance feedback ("more / less like this"), "like this but ...", tag confirmation on the
// detail page, and index progress. Plain DOM, no build step. All text from the server is set as
// textContent (never as HTML): photo text stays data.
"use strict";

const $ = (sel, root = document) => root.querySelector(sel);
const TAUGHT_NOTE = "photoseek-taught";  // sessionStorage: what a tag change taught, shown after the reload
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined) node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
};

async function api(path, body) {
  const response = await fetch(path, body === undefined ? {} : {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(detail(data) || `${response.status} ${response.statusText}`);
  return data;
}

function detail(data) {
  if (!data || !data.detail) return "";
  if (typeof data.detail === "string") return data.detail;
  return data.detail.map(d => (d.msg || "").replace(/^Value error, /, "")).join("; ");
}

// -- the results page ---------------------------------------------------------------------------------
const page = {
  base: null,        // the search the grid shows (SearchRequest fields), refined by feedback
  more: [], less: [],
  session: null,     // the conversation id: follow-up requests keep the context
  results: [], groups: [],  // what the grid holds: every result, matches first; the groups' shared reasons
  shown: 0,          // how many of them the grid shows (a page, then "Show N more")
  anyPlace: false,   // some photo of the library has a place (/api/places): cards and filters show places
};
// a first page of results, the rest on demand: a long answer is read a page at a time
// (the server's banner counts the close photos on a first page of this size: web/app.py FIRST_PAGE)
const PAGE_SIZE = window.PHOTOSEEK.page || 20;
const SEARCH_DEPTH = 3 * PAGE_SIZE;  // a search fetches three pages

function setAnswer(text, busy = false) {
  const box = $("#answer");
  if (!box) return;
  box.hidden = !text;
  box.classList.toggle("busy", busy);
  box.textContent = text || "";
}

function matchLabel(match) {
  if (match === null || match === undefined) return null;
  if (typeof match === "string") return match;
  if (typeof match === "object") return match.level || match.label || JSON.stringify(match);
  return String(match);
}

// who was recognised in a result: "Anna, Ben" (each result says who is in it)
function who(result) {
  const names = Object.keys((result.evidence || {}).recognised || {});
  return names.length ? el("p", {class: "who", title: "people recognised in this photo"}, "In it: " + names.join(", ")) : "";
}

// The place under a photo: a click shows the photos taken there. "near Revelstoke, British Columbia,
// Canada" and "Paradise (Las Vegas), United States" filter as "Revelstoke, Canada" / "Paradise, United States".
const placeValue = (label) => {
  const parts = label.replace(/^near /, "").replace(/ \([^)]*\)/, "").split(", ");
  return parts.length > 1 ? `${parts[0]}, ${parts[parts.length - 1]}` : parts[0];
};

function placeLine(evidence) {
  const place = evidence && evidence.place;
  // a library with no position at all would say "place unknown" under every photo: say nothing there
  if (!place && !page.anyPlace) return "";
  if (!place) return el("span", {class: "place unknown", title: "No GPS, and no photo of the same camera taken within hours has one"}, "place unknown");
  const estimated = evidence.place_source === "estimated";
  return el("button", {class: "place" + (estimated ? " estimated" : ""), type: "button",
    title: `${place} (${evidence.place_how}). Show the photos taken there.`,
    onclick: () => setPlaceFilter(placeValue(place), place)}, place);
}

function card(result, rank, reason) {
  const label = matchLabel(result.match);
  const name = result.path.split("/").pop();
  const butInput = el("input", {class: "but-input", placeholder: "but… e.g. at night", maxlength: "200",
                                "aria-label": `like photo ${result.id} but`});
  const butForm = el("form", {class: "but-form", hidden: "",
    onsubmit: (e) => { e.preventDefault(); if (butInput.value.trim()) likeBut(result.id, butInput.value.trim()); }},
    butInput, el("button", {type: "submit"}, "Go"));
  return el("figure", {class: "card", "data-id": result.id, "data-rank": rank},
    el("a", {href: `/photo/${result.id}`, class: "thumb", title: `Details of ${name}`},
      el("img", {src: `/api/photos/${result.id}/thumbnail`, alt: name, loading: "lazy"})),
    el("figcaption", {},
      el("div", {class: "meta"},
        el("span", {class: "rank", title: `rank ${rank}, photo ${result.id}`}, `${rank}.`),
        label ? el("span", {class: `match match-${label.toLowerCase().replace(/[^a-z]+/g, "-")}`}, label) : "",
        el("span", {class: "name", title: result.path}, name)),
      placeLine(result.evidence),
      // the reason its group does not already say (the model's own sentence, when it reworded it)
      el("p", {class: "explanation"}, (!result.reworded && reason) || result.explanation || ""),
      who(result),
      el("div", {class: "buttons"},
        el("button", {class: "more" + (page.more.includes(result.id) ? " on" : ""),
                      title: "Relevance feedback: rank photos like this one higher",
                      "aria-pressed": String(page.more.includes(result.id)),
                      onclick: () => feedback(result.id, +1)}, page.more.includes(result.id) ? "✓ More like this" : "More like this"),
        el("button", {class: "less", title: "Relevance feedback: rank photos like this one lower",
                      onclick: () => feedback(result.id, -1)}, "Less like this"),
        el("button", {class: "likebut", title: "Photos like this one, changed as you say",
                      onclick: () => { butForm.hidden = !butForm.hidden; if (!butForm.hidden) butInput.focus(); }},
           "Like this but…")),
      butForm));
}

// What the page shows, kept for this tab: coming back from a photo's details restores it
// instead of asking again (and the conversation goes on).
const PAGE_KEY = "photoseek-page";
// the results page as remember() kept it for this tab, or null
const savedPage = () => JSON.parse(sessionStorage.getItem(PAGE_KEY) || "null");

function remember() {
  const answer = $("#answer");
  sessionStorage.setItem(PAGE_KEY, JSON.stringify({url: location.href, results: page.results,
    groups: page.groups, shown: page.shown,
    answer: answer.hidden ? "" : answer.textContent, base: page.base, more: page.more, less: page.less,
    session: page.session, names: [...names]}));
}

const PENDING_FEEDBACK = "photoseek-feedback";

function restore() {
  const saved = savedPage();
  if (!saved || saved.url !== location.href || !saved.results) return false;
  Object.assign(page, {base: saved.base, more: saved.more, less: saved.less, session: saved.session});
  // a photo marked "less like this" has left the grid: its name comes back with the page
  for (const [id, name] of saved.names || []) names.set(id, name);
  showResults(saved.results, null, saved.groups, saved.shown);
  setAnswer(saved.answer);
  // "More/Less like this" pressed on a photo's own page refines these results
  const pending = JSON.parse(sessionStorage.getItem(PENDING_FEEDBACK) || "null");
  sessionStorage.removeItem(PENDING_FEEDBACK);
  if (pending && page.base) feedback(pending.id, pending.sign);
  return true;
}

// `groups`: the results as the server grouped them (matches, then those only close), each with the
// reason its photos share, said once above them; `shown`: how many to show (a first page by default)
function showResults(results, note, groups, shown) {
  page.results = results;
  page.groups = groups || [];
  page.shown = Math.min(results.length, shown || PAGE_SIZE);
  for (const r of results) names.set(r.id, r.path.split("/").pop());
  renderGrid(note);
  $("#hint") && ($("#hint").hidden = true);
  showRefine();
}

function renderGrid(note) {
  const grid = $("#grid");
  const groupOf = new Map();
  for (const g of page.groups) for (const id of g.ids) groupOf.set(id, g);
  const children = [];
  let current = null;
  page.results.slice(0, page.shown).forEach((r, i) => {
    const group = groupOf.get(r.id);
    if (group && group !== current) {
      children.push(el("h2", {class: `group group-${group.kind}`}, group.heading));
      current = group;
    }
    children.push(card(r, i + 1, group && group.reasons[String(r.id)]));
  });
  const rest = page.results.length - page.shown;
  if (rest > 0) {
    const matches = page.results.slice(page.shown).filter(r => r.match === "strong").length;
    const next = Math.min(rest, PAGE_SIZE);
    children.push(el("div", {class: "more-results"},
      el("button", {class: "show-more", onclick: () => { page.shown += next; renderGrid(); remember(); }},
        `Show ${next} more`),
      el("span", {class: "small"}, ` ${rest} more in all` + (matches ? ` (${matches} of them matches)` : ", close, not matches"))));
  }
  grid.replaceChildren(...children);
  if (!page.results.length) grid.append(el("p", {class: "hint"}, note || "No photos match."));
}

const names = new Map();  // photo id -> file name, from the results shown so far
// the name the user sees on the card (catalog ids appear nowhere on the page)
const photoName = (id) => names.has(id) ? names.get(id) : `photo ${id}`;

function showRefine() {
  const bar = $("#refine");
  // each marked photo can be unmarked on its own (a "less like this" photo has left the grid)
  const unmark = (id) => el("button", {class: "unmark subtle", title: `unmark ${photoName(id)}`, "aria-label": `unmark ${photoName(id)}`,
    onclick: () => { page.more = page.more.filter(i => i !== id); page.less = page.less.filter(i => i !== id); runSearch(page.base); }}, "×");
  const group = (label, ids) => ids.length ? [el("span", {}, ` ${label} `),
    ...ids.flatMap((id, n) => [el("span", {class: "marked"}, (n ? ", " : "") + photoName(id)), unmark(id)])] : [];
  bar.hidden = !(page.more.length || page.less.length);
  bar.replaceChildren(el("span", {}, "Refined:"), ...group("more like", page.more),
    ...(page.more.length && page.less.length ? [el("span", {}, ";")] : []), ...group("less like", page.less), el("span", {}, " "),
    el("button", {class: "subtle", onclick: () => { page.more = []; page.less = []; runSearch(page.base); }}, "Clear"));
}

// -- place and trip filters ----------------------------------------------------------------------------
// The selects above the grid restrict every search the page runs (search, feedback, like-this); an
// agent answer that asked for a place or trip shows it in them.
function filterArgs() {
  const out = {};
  const place = $("#place-filter"), trip = $("#trip-filter");
  if (place && place.value) out.place = [place.value];
  if (trip && trip.value) out.trip = trip.value;
  return out;
}

function selectValue(select, value, label) {
  if (!select) return;
  if (value && ![...select.options].some(o => o.value === value)) select.append(el("option", {value}, label || value));
  select.value = value || "";
  select.classList.toggle("on", !!select.value);
}

function setPlaceFilter(value, label) {
  selectValue($("#place-filter"), value, label);
  $("#filters").hidden = false;
  runSearch(page.base ? {...page.base, place: undefined, trip: undefined} : {k: SEARCH_DEPTH});
}

async function setupFilters() {
  const box = $("#filters");
  if (!box) return;
  try {
    const [places, trips] = await Promise.all([api("/api/places"), api("/api/trips")]);
    const placeSelect = $("#place-filter"), tripSelect = $("#trip-filter");
    page.anyPlace = places.located > 0;
    for (const country of places.countries) {
      if (!country.country) continue;
      placeSelect.append(el("option", {value: country.country}, `${country.country} (${country.photos})`));
      for (const region of country.regions) {
        if (region.region && country.regions.length > 1)
          placeSelect.append(el("option", {value: `${region.region}, ${country.country}`}, `\u00a0\u00a0${region.region} (${region.photos})`));
        for (const city of region.cities) {
          if (city.city === "away from towns") continue;
          const name = city.city.replace(/^near /, "");
          placeSelect.append(el("option", {value: `${name}, ${country.country}`},
            `\u00a0\u00a0\u00a0\u00a0${city.city} (${city.photos}${city.estimated ? `, ${city.estimated} estimated` : ""})`));
        }
      }
    }
    for (const trip of [...trips.trips].reverse()) {
      const when = trip.start === trip.end ? trip.start : `${trip.start} → ${trip.end}`;
      tripSelect.append(el("option", {value: trip.start}, `${trip.name}, ${when} (${trip.photos})`));
    }
    const notes = [];
    if (places.unknown) notes.push(`${places.unknown} photo${places.unknown === 1 ? " has" : "s have"} no known position`);
    if (trips.home) notes.push(`home: ${trips.home.label}`);
    else if (!places.located) notes.push("no photo has a position (GPS), so there are no places or trips");
    $("#filter-note").textContent = notes.join(" · ");
    box.hidden = !page.anyPlace;  // no GPS anywhere: no place or trip to pick (`photoseek places` says why)
    tripSelect.disabled = !trips.trips.length;
    if (!trips.trips.length) tripSelect.options[0].textContent = trips.home ? "No trips away from home" : "No trips (no GPS)";
    for (const select of [placeSelect, tripSelect]) {
      select.addEventListener("change", () => {
        select.classList.toggle("on", !!select.value);
        const base = page.base ? {...page.base, place: undefined, trip: undefined, trip_day: undefined} : null;
        if (base || Object.keys(filterArgs()).length) runSearch(base || {k: SEARCH_DEPTH});
      });
    }
    const params = new URLSearchParams(location.search);
    if (params.get("place") && !params.get("q")) setPlaceFilter(placeValue(params.get("place")), params.get("place"));
  } catch (err) {
    box.hidden = true;
  }
}

// "3 strong matches; the next 7 are only close (2 partly match)." as the CLI's answers count them
async function runSearch(request) {
  page.base = request;
  // what the agent's plan asked (a place, a trip) shows in the selects; what the selects say applies
  if (request.place && request.place.length === 1) selectValue($("#place-filter"), request.place[0]);
  if (request.trip) selectValue($("#trip-filter"), request.trip);
  const filters = filterArgs();
  const body = {...request, ...filters, more_like: [...(request.more_like || []), ...page.more],
                less_like: [...(request.less_like || []), ...page.less]};
  if (!filters.trip) delete body.trip_day;
  for (const key of ["place", "trip"]) if (body[key] === undefined) delete body[key];
  if (!body.text && !body.like && !body.text_in_photo && !body.more_like.length && !Object.keys(filters).length
      && !(body.place || body.trip || body.tags || body.date_from || body.time_of_day)) {
    showResults([], "Choose a place or a trip, or type what you are looking for.");
    setAnswer("");
    return;
  }
  $("#grid").classList.add("loading");
  try {
    const data = await api("/api/search", body);
    // matches first, as the banner counts them ("Found 3 …; the next 7 are only close"); by score within a level
    const level = {strong: 0, partial: 1, weak: 2};
    showResults([...data.results].sort((a, b) => (level[a.match] ?? 3) - (level[b.match] ?? 3)), null, data.groups);
    // the banner always describes the grid below it (after "more like this" too)
    // the server counts the levels in the words the agent's answers use
    setAnswer([data.searched_as && `Searched for “${data.searched_as}”.`,
               data.summary || (data.places_note ? "" : "No photo found."), data.places_note]
      .filter(Boolean).join(" "));
    remember();
  } catch (err) {
    setAnswer(`Could not search: ${err.message}`);
  } finally {
    $("#grid").classList.remove("loading");
  }
}

function feedback(id, sign) {
  if (!page.base) return;
  page.more = page.more.filter(i => i !== id);
  page.less = page.less.filter(i => i !== id);
  (sign > 0 ? page.more : page.less).push(id);
  runSearch(page.base);
}

// The reference photo of a "like this (but ...)" search, shown above the results.
async function showReference(id, but) {
  setAnswer(" ");
  const box = $("#answer");
  let name = names.get(id);
  if (!name) {
    try { name = (await api(`/api/photos/${id}`)).path.split("/").pop(); names.set(id, name); } catch (err) { name = `photo ${id}`; }
  }
  box.replaceChildren(el("a", {href: `/photo/${id}`, class: "reference"},
    el("img", {src: `/api/photos/${id}/thumbnail`, alt: name})),
    el("span", {}, `Photos like ${name}` + (but ? ` but “${but}”` : "") + "."));
}

function likeBut(id, but) {
  page.more = []; page.less = [];
  showReference(id, but);
  runSearch({like: id, but, k: SEARCH_DEPTH});
}

function search(text) {
  page.more = []; page.less = [];
  setAnswer("");
  runSearch({text, k: SEARCH_DEPTH});
}

// An agent turn, streamed as server-sent events over a POST.
async function ask(message) {
  page.more = []; page.less = [];
  setAnswer("Thinking…", true);
  let results = [];
  try {
    const response = await fetch("/api/ask/stream", {method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({message, session: page.session, explain: "model"})});
    if (!response.ok) throw new Error(detail(await response.json().catch(() => ({}))) || response.statusText);
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, {stream: true});
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const event = (block.match(/^event: (.*)$/m) || [])[1];
        const data = JSON.parse((block.match(/^data: (.*)$/m) || [])[1] || "{}");
        if (event === "session") page.session = data.session;
        else if (event === "error") setAnswer(`Could not answer: ${data.detail}`);
        else if (event === "plan") { page.base = data.search && {...data.search, k: 10}; setAnswer("Searching…", true); }
        else if (event === "results") { results = data.results; showResults(results, null, data.groups); setAnswer("Explaining…", true); }
        else if (event === "explanation") {
          const node = $(`.card[data-id="${data.id}"] .explanation`);
          if (node) node.textContent = data.text;
          const shown = (page.results || []).find(r => r.id === data.id);
          if (shown) { shown.explanation = data.text; shown.reworded = true; }
        } else if (event === "answer") {
          setAnswer(data.answer);
          if (data.search) page.base = {...data.search, k: Math.max(data.results.length, 10)};
          if (data.photo) location.href = `/photo/${data.photo.id}`;
          else if (!results.length) showResults(data.results, data.answer, data.groups);
          remember();
        }
      }
    }
  } catch (err) {
    setAnswer(`Could not answer: ${err.message}`);
  }
}

function pollIndexing() {
  const box = $("#indexing");
  if (!box) return;
  api("/api/status").then(status => {
    const run = status.indexing;
    if (!run || run.finished) {
      if (!box.hidden) { box.hidden = true; if (run && run.error) setAnswer(`Indexing stopped: ${run.error}`); else location.reload(); }
      return;
    }
    box.hidden = false;
    $("#indexing-text").textContent = `${run.stage || ""}: ${run.done}${run.total ? " of " + run.total : ""} · ${status.photos} photos searchable`;
    const bar = $("#indexing-bar");
    if (run.total) { bar.max = run.total; bar.value = run.done; } else bar.removeAttribute("value");
    setTimeout(pollIndexing, 1000);
  }).catch(() => setTimeout(pollIndexing, 3000));
}

function setupResultsPage() {
  const form = $("#ask-form");
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("#q").value.trim();
    if (!text) return;
    const mode = (e.submitter && e.submitter.value) || (window.PHOTOSEEK.llm ? "ask" : "search");
    history.replaceState(null, "", `/?q=${encodeURIComponent(text)}&mode=${mode}`);
    if (mode === "ask") ask(text); else search(text);
  });
  // Enter asks the assistant when there is one (follow-ups keep the context); the buttons choose.
  $("#q").addEventListener("keydown", (e) => {
    if (e.key !== "Enter" || e.isComposing) return;
    e.preventDefault();
    form.requestSubmit(window.PHOTOSEEK.llm ? $("#ask-button") : $("#search-button"));
  });
  const params = new URLSearchParams(location.search);
  const like = parseInt(params.get("like") || "", 10);
  if (restore()) {
    $("#q").value = params.get("q") || "";
  } else if (params.get("q")) {
    $("#q").value = params.get("q");
    params.get("mode") === "ask" && window.PHOTOSEEK.llm ? ask(params.get("q")) : search(params.get("q"));
  } else if (like > 0) {
    const but = params.get("but");
    if (but) likeBut(like, but);
    else { showReference(like, null); runSearch({like, k: SEARCH_DEPTH}); }
  }
  setupFilters();
  pollIndexing();
}

// -- the detail page ----------------------------------------------------------------------------------
function setupPhotoPage(article) {
  const id = article.dataset.photo;
  const change = async (add, remove) => {
    try {
      const shown = await api(`/api/photos/${id}/tags`, {add, remove});
      // where each word now stands ("learned from 3 photos…", "give it to 2 more…"), shown after the reload
      const said = (shown.taught || []).map(w => w.summary).filter(Boolean);
      if (said.length) sessionStorage.setItem(TAUGHT_NOTE, JSON.stringify({id, said}));
      // the results this page was opened from are out of date (a word learned tags other photos):
      // going back searches again instead of restoring them
      sessionStorage.removeItem(PAGE_KEY);
      location.reload();
    }
    catch (err) { alert(`Could not change the tags: ${err.message}`); }
  };
  const note = JSON.parse(sessionStorage.getItem(TAUGHT_NOTE) || "null");
  sessionStorage.removeItem(TAUGHT_NOTE);
  if (note && String(note.id) === String(id)) {
    $("#taught").hidden = false;
    $("#taught").replaceChildren(...note.said.map(text => el("span", {}, text, " ")));
  }
  for (const b of document.querySelectorAll("#tags .confirm")) b.addEventListener("click", () => change([b.dataset.tag], []));
  for (const b of document.querySelectorAll("#tags .reject")) b.addEventListener("click", () => change([], [b.dataset.tag]));
  $("#add-tag").addEventListener("submit", (e) => {
    e.preventDefault();
    const tag = e.target.tag.value.trim();
    if (tag) change([tag], []);
  });
  // relevance feedback belongs to the search this page was opened from: offered when there is one
  const saved = savedPage();
  const fromResults = saved && document.referrer && new URL(document.referrer).pathname === "/";
  // opened from results: why it was returned, as the grid said it
  const shown = fromResults && (saved.results || []).find(r => String(r.id) === String(id));
  if (shown && shown.explanation) {
    const why = $("#why");
    why.hidden = false;
    why.replaceChildren(el("b", {}, "Why it was returned: "), el("span", {}, shown.explanation));
  }
  if (fromResults) $("#back-link").hidden = false;  // a page opened on its own has no results to go back to
  if (fromResults && saved.base) {
    const numeric = parseInt(id, 10);
    for (const [button, sign] of [["#more-like", +1], ["#less-like", -1]]) {
      const on = ((sign > 0 ? saved.more : saved.less) || []).includes(numeric);
      $(button).hidden = false;
      if (on) { $(button).classList.add("on"); $(button).textContent = "✓ " + $(button).textContent; }
      $(button).addEventListener("click", () => {
        sessionStorage.setItem(PENDING_FEEDBACK, JSON.stringify({id: numeric, sign}));
        history.back();
      });
    }
  }
  const correct = $("#correct-place");
  if (correct) correct.addEventListener("click", async () => {
    const place = prompt("Where was this photo taken? A town (Lisbon, Portland, Oregon), a region, a country, or a position (38.72, -9.14).");
    if (!place || !place.trim()) return;
    try { await api(`/api/photos/${id}/place`, {place: place.trim()}); location.reload(); }
    catch (err) { alert(`Could not set the place: ${err.message}`); }
  });
  const undo = $("#clear-place");
  if (undo) undo.addEventListener("click", async () => {
    try { await api(`/api/photos/${id}/place`, {clear: true}); location.reload(); }
    catch (err) { alert(`Could not undo the correction: ${err.message}`); }
  });
  $("#like-but-link").addEventListener("click", (e) => {
    e.preventDefault();
    const but = prompt("Like this photo but… (e.g. at night, with snow)");
    if (but && but.trim()) location.href = `/?like=${id}&but=${encodeURIComponent(but.trim())}`;
  });
  $("#ask-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("#q").value.trim();
    const mode = (e.submitter && e.submitter.value) || "search";
    if (text) location.href = `/?q=${encodeURIComponent(text)}&mode=${mode}`;
  });
}

// -- the words page -------------------------------------------------------------------------------------
function setupWordsPage(table) {
  for (const b of table.querySelectorAll("button.forget")) {
    b.addEventListener("click", async () => {
      const word = b.dataset.word;
      if (!confirm(`Forget “${word}”? Its learned tags go; the photos you gave it to keep your tag.`)) return;
      try {
        const response = await fetch(`/api/words/${encodeURIComponent(word)}`, {method: "DELETE"});
        const data = await response.json().catch(() => ({}));
        if (!response.ok) throw new Error(detail(data) || response.statusText);
        location.reload();
      } catch (err) { alert(`Could not forget “${word}”: ${err.message}`); }
    });
  }
}

if (!window.PHOTOSEEK.llm) $("#ask-button").disabled = true;
const article = $("article.detail");
const wordsTable = $("#words");
if (article) setupPhotoPage(article);
else if (wordsTable || $("#no-words")) { if (wordsTable) setupWordsPage(wordsTable); }
else setupResultsPage();
