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
