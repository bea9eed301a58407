/* Agora — progressive enhancement only: every page works without this file.
   Suggestions as you type (an ARIA 1.2 combobox), filters applied when ticked (focus kept
   across the reload), the device's position on "Près de moi", facets folded on phones.
   Loaded from our own origin (the Content-Security-Policy allows no inline script); every
   text from the server is inserted with textContent, never as HTML. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  var FOCUS_KEY = "agora-focus";

  function debounce(fn, ms) {
    var t = null;
    return function () {
      var args = arguments, self = this;
      clearTimeout(t);
      t = setTimeout(function () { fn.apply(self, args); }, ms);
    };
  }

  /* ---------------------------------------------------------------- suggestions */
  var KIND = { shop: "boutique", product: "produit", offer: "article", category: "métier",
               commune: "commune", brand: "marque" };

  function setupCombobox(input) {
    var list = document.getElementById(input.getAttribute("aria-controls"));
    var status = document.getElementById("q-status");
    var url = input.getAttribute("data-suggest-url");
    if (!list || !url) { return; }
    var items = [];
    var active = -1;
    var lastQuery = "";
    var controller = null;

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      var options = list.querySelectorAll("[role=option]");
      for (var i = 0; i < options.length; i++) {
        options[i].setAttribute("aria-selected", i === index ? "true" : "false");
      }
      active = index;
      if (index >= 0 && options[index]) {
        input.setAttribute("aria-activedescendant", options[index].id);
        options[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function choose(index) {
      var item = items[index];
      if (!item) { return; }
      if (item.url) {
        window.location.assign(item.url);
        return;
      }
      input.value = item.text;
      close();
      input.form.submit();
    }

    function render(suggestions) {
      items = suggestions;
      while (list.firstChild) { list.removeChild(list.firstChild); }
      if (!suggestions.length) {
        close();
        if (status) { status.textContent = ""; }
        return;
      }
      suggestions.forEach(function (s, i) {
        var li = document.createElement("li");
        li.id = "q-suggestion-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        var text = document.createElement("span");
        text.textContent = s.text;
        li.appendChild(text);
        var tag = document.createElement("span");
        tag.className = "kind-tag";
        tag.textContent = KIND[s.kind] || "";
        li.appendChild(tag);
        li.addEventListener("mousedown", function (e) { e.preventDefault(); });
        li.addEventListener("click", function () { choose(i); });
        list.appendChild(li);
      });
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      active = -1;
      if (status) {
        status.textContent = suggestions.length + " suggestion" + (suggestions.length > 1 ? "s" : "") +
          " ; flèches pour parcourir.";
      }
    }

    var fetchSuggestions = debounce(function () {
      var q = input.value.trim();
      if (q === lastQuery) { return; }
      lastQuery = q;
      if (q.length < 2) { render([]); return; }
      if (controller) { controller.abort(); }
      controller = window.AbortController ? new AbortController() : null;
      fetch(url + "?q=" + encodeURIComponent(q.slice(0, 200)) + "&limit=8",
            { headers: { Accept: "application/json" }, signal: controller ? controller.signal : undefined })
        .then(function (r) { return r.ok ? r.json() : { suggestions: [] }; })
        .then(function (data) {
          if (input.value.trim() === q) { render(data.suggestions || []); }
        })
        .catch(function () { /* offline or aborted: no suggestions, the form still works */ });
    }, 150);

    input.addEventListener("input", fetchSuggestions);
    input.addEventListener("keydown", function (e) {
      var open = !list.hidden && items.length;
      if (e.key === "ArrowDown") {
        if (!open) { lastQuery = ""; fetchSuggestions(); return; }
        e.preventDefault();
        highlight(active + 1 >= items.length ? 0 : active + 1);
      } else if (e.key === "ArrowUp") {
        if (!open) { return; }
        e.preventDefault();
        highlight(active <= 0 ? items.length - 1 : active - 1);
      } else if (e.key === "Enter") {
        if (open && active >= 0) { e.preventDefault(); choose(active); }
      } else if (e.key === "Escape") {
        if (open) { e.preventDefault(); close(); }
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 120); });
  }

  /* ---------------------------------------------------------------- filters */
  function tidy(form) {
    /* empty fields stay out of the address (?q=pain, not ?q=pain&prix_min=&prix_max=) */
    Array.prototype.forEach.call(form.elements, function (el) {
      if (el.name && !el.disabled && el.value === "" && el.type !== "checkbox") {
        el.disabled = true;
        el.setAttribute("data-was-empty", "");
      }
    });
  }

  function setupTidyForms() {
    /* on window, after the forms' own handlers: a submit they cancelled is left alone */
    window.addEventListener("submit", function (e) {
      var form = e.target;
      if (!e.defaultPrevented && form && (form.method || "").toLowerCase() === "get") {
        tidy(form);
      }
    });
    window.addEventListener("pageshow", function () {  /* back from the next page */
      Array.prototype.forEach.call(document.querySelectorAll("[data-was-empty]"), function (el) {
        el.disabled = false;
        el.removeAttribute("data-was-empty");
      });
    });
  }

  function setupAutosubmit(form) {
    var fields = form.querySelectorAll("[data-autosubmit]");
    Array.prototype.forEach.call(fields, function (field) {
      field.addEventListener("change", function () {
        try { sessionStorage.setItem(FOCUS_KEY, field.id); } catch (e) { /* private mode */ }
        if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
      });
    });
  }

  function restoreFocus() {
    var id = null;
    try { id = sessionStorage.getItem(FOCUS_KEY); sessionStorage.removeItem(FOCUS_KEY); } catch (e) { return; }
    if (!id) { return; }
    var el = document.getElementById(id);
    if (!el) { return; }
    var details = el.closest ? el.closest("details") : null;
    if (details) { details.open = true; }
    el.focus();
  }

  /* ---------------------------------------------------------------- near me */
  function setupGeolocation(form) {
    var status = document.getElementById("geo-status");
    var say = function (text) { if (status) { status.textContent = text; } };
    if (!("geolocation" in navigator)) {
      say("Votre navigateur ne donne pas de position : indiquez un lieu ci-contre.");
    }
    form.addEventListener("submit", function (e) {
      if (form.elements.lat.value && form.elements.lon.value) { return; }
      e.preventDefault();
      if (!("geolocation" in navigator)) {
        say("Votre navigateur ne donne pas de position : indiquez un lieu ci-contre.");
        return;
      }
      say("Recherche de votre position…");
      navigator.geolocation.getCurrentPosition(function (pos) {
        form.elements.lat.value = pos.coords.latitude.toFixed(5);
        form.elements.lon.value = pos.coords.longitude.toFixed(5);
        say("Position trouvée, recherche en cours…");
        tidy(form);
        form.submit();
      }, function (err) {
        say(err && err.code === 1
          ? "Vous n’avez pas autorisé la localisation : indiquez plutôt une commune ou une adresse."
          : "Position introuvable pour le moment : indiquez plutôt une commune ou une adresse.");
        var place = document.getElementById("lieu");
        if (place) { place.focus(); }
      }, { enableHighAccuracy: false, timeout: 10000, maximumAge: 300000 });
    });
  }

  /* ---------------------------------------------------------------- facets on phones */
  function foldFacets() {
    var details = document.getElementById("facets-details");
    if (!details || !window.matchMedia) { return; }
    if (window.matchMedia("(max-width: 48rem)").matches && !details.hasAttribute("data-keep-open")) {
      details.open = false;
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var q = document.getElementById("q");
    if (q) { setupCombobox(q); }
    var form = document.getElementById("search-form");
    if (form) { setupAutosubmit(form); }
    setupTidyForms();
    var geo = document.querySelector("form[data-geolocate]");
    if (geo) { setupGeolocation(geo); }
    foldFacets();
    restoreFocus();
  });
}());
