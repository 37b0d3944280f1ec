// Stored queries that take a region suggest the region names as one types. query.html
// renders an empty <datalist id="nb-region-names"> with the archive's regions table as its
// data-source; this fills it with every province, city, district and full name, once,
// and points the region inputs at it. Linked by archive.publish.pages on query pages.

const PLACEHOLDER = "新乡市、牧野区、河南省新乡市牧野区 或 410711";
const COLUMNS = "_col=name&_col=full_name&_col=province&_col=city&_col=district";

async function regionNames(source) {
  const response = await fetch(`${source}?_shape=array&_size=max&${COLUMNS}`);
  const names = new Set();
  for (const region of await response.json()) {
    for (const name of [region.province, region.city, region.district, region.full_name]) {
      if (name) names.add(name);
    }
  }
  return names;
}

async function suggestRegions(list, inputs) {
  inputs.forEach((input) => {
    input.setAttribute("list", list.id);
    input.placeholder = PLACEHOLDER;
  });
  for (const name of await regionNames(list.dataset.source)) {
    const option = document.createElement("option");
    option.value = name;
    list.append(option);
  }
}

const names = document.getElementById("nb-region-names");
const regionInputs = document.querySelectorAll("form.sql input[name=region]");
if (names && regionInputs.length) suggestRegions(names, regionInputs);
