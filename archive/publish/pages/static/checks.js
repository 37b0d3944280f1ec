// The wide tables and their Chinese views carry, after each number, its check (…·核对 in
// the views, …_check in the tables): 不符 or 机读. The number's own cell already shows the
// mark (archive.publish.pages renders it), so on the page the check columns are folded
// away — the CSV and JSON keep them — with a button to show them. Linked by
// archive.publish.pages on those tables' pages only; classes styled in nianbao.css.

const CHECK_COLUMN = /(·核对|_check)$/;

function foldChecks(table) {
  const headers = Array.from(table.tHead.rows[0].cells);
  const checks = headers
    .map((th, i) => (CHECK_COLUMN.test(th.dataset.column || "") ? i : -1))
    .filter((i) => i >= 0);
  if (!checks.length) return;
  for (const row of table.rows) {
    for (const i of checks) row.cells[i]?.classList.add("nb-check-col");
  }
  table.classList.add("nb-checks-folded");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "nb-checks-toggle";
  const label = () =>
    table.classList.contains("nb-checks-folded")
      ? `显示每个数字的核对列（${checks.length} 列）`
      : "收起核对列";
  button.textContent = label();
  button.addEventListener("click", () => {
    table.classList.toggle("nb-checks-folded");
    button.textContent = label();
  });
  table.closest(".table-wrapper")?.before(button);
}

const table = document.querySelector("table.rows-and-columns");
if (table && table.tHead) foldChecks(table);
