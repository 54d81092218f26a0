// One click on a citation marker opens its source under the answer and shows it.
document.addEventListener("click", function (event) {
  var link = event.target.closest ? event.target.closest("a.rag-cite") : null;
  if (!link) return;
  var id = (link.getAttribute("href") || "").slice(1);
  var source = id && document.getElementById(id);
  if (!source) return;
  event.preventDefault();
  source.open = true;
  source.scrollIntoView({ behavior: "smooth", block: "nearest" });
  source.classList.add("rag-flash");
  setTimeout(function () { source.classList.remove("rag-flash"); }, 1500);
});

// A source's "Supports the claim" / "Does not support the claim" buttons rate that citation;
// a second click on the pressed button takes the rating back.
document.addEventListener("click", function (event) {
  var button = event.target.closest ? event.target.closest("button.rag-rate-btn") : null;
  if (!button) return;
  var box = button.closest(".rag-rate");
  if (!box) return;
  event.preventDefault();
  // The box's id is rag-rate-ANSWERID-N; the rating is the button's rag-rate-RATING class.
  var target = /^rag-rate-([0-9a-f]+)-(\d+)$/.exec(box.id || "");
  if (!target) return;
  var pressed = button.getAttribute("aria-pressed") === "true";
  var chosen = button.classList.contains("rag-rate-supports") ? "supports" : "unsupported";
  var rating = pressed ? "cleared" : chosen;
  var status = box.querySelector(".rag-rate-status");
  if (!status) {
    status = document.createElement("span");
    status.className = "rag-rate-status";
    box.appendChild(status);
  }
  fetch(new URL("api/feedback", document.baseURI), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      answer_id: target[1],
      citation: parseInt(target[2], 10),
      rating: rating,
    }),
  })
    .then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) throw new Error(body.error || response.statusText);
      });
    })
    .then(function () {
      box.querySelectorAll("button.rag-rate-btn").forEach(function (b) {
        b.setAttribute("aria-pressed", b === button && !pressed ? "true" : "false");
      });
      status.textContent = pressed ? "" : "Thanks, noted.";
    })
    .catch(function (error) { status.textContent = "Not saved: " + error.message; });
});
