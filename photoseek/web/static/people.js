// The People view and a person's page: naming in place, merge, hide, forget, "not this person", and
// naming the faces on a photo's page. Plain DOM; text from the server is set as textContent.
"use strict";

async function call(path, body, method = "POST") {
  const response = await fetch(path, {method, headers: {"Content-Type": "application/json"},
                                      body: body === undefined ? undefined : JSON.stringify(body)});
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const detail = typeof data.detail === "string" ? data.detail
      : (data.detail || []).map(d => (d.msg || "").replace(/^Value error, /, "")).join("; ");
    throw new Error(detail || `${response.status} ${response.statusText}`);
  }
  return data;
}

function say(node, text, bad = false) {
  let note = node.querySelector(".note");
  if (!note) { note = document.createElement("span"); note.className = "note"; node.append(note); }
  note.textContent = text;
  note.classList.toggle("bad", bad);
}

for (const form of document.querySelectorAll("form.name-form")) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = form.elements.name.value.trim();
    if (!name) return say(form, "Type a name first.", true);
    try {
      const person = await call(`/api/people/${form.dataset.person}/name`, {name});
      form.elements.name.value = person.name;
      say(form, "Saved.");
    } catch (error) { say(form, error.message, true); }
  });
}

const head = document.querySelector(".person-head");
if (head) {
  const id = head.dataset.person;
  document.getElementById("merge").addEventListener("click", async () => {
    const into = document.getElementById("merge-into").value;
    if (!into) return say(head, "Choose who this person is first.", true);
    try { const person = await call(`/api/people/${id}/merge`, {into: Number(into)}); location.href = `/people/${person.id}`; }
    catch (error) { say(head, error.message, true); }
  });
  const hide = document.getElementById("hide");
  hide.addEventListener("click", async () => {
    try { await call(`/api/people/${id}/hide`, {hidden: hide.dataset.hidden !== "true"}); location.reload(); }
    catch (error) { say(head, error.message, true); }
  });
  document.getElementById("forget").addEventListener("click", async () => {
    if (!confirm("Delete this person's faces, crops and name from the library?")) return;
    try { await call(`/api/people/${id}`, undefined, "DELETE"); location.href = "/people"; }
    catch (error) { say(head, error.message, true); }
  });
  for (const button of document.querySelectorAll("button.not-person")) {
    button.addEventListener("click", async () => {
      try {
        await call(`/api/faces/${button.dataset.face}/reject`, {person: Number(id)});
        button.closest(".face-card").remove();
      } catch (error) { say(button.parentElement, error.message, true); }
    });
  }
}

// a photo's page: name each face
for (const form of document.querySelectorAll("form.face-name")) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = form.elements.name.value.trim();
    if (!name) return say(form, "Type a name first.", true);
    try {
      const person = await call(`/api/faces/${form.dataset.face}/move`, {person: name});
      say(form, `Saved: ${person.name}, ${person.photos} photo${person.photos === 1 ? "" : "s"}.`);
    } catch (error) { say(form, error.message, true); }
  });
}
