/*! Sportello: the embeddable form of a service (GET /visura/formTool/{hash_visura}.js).
 *
 * Usage, in the client's page:
 *   <div id="modulo"></div>
 *   <script src="https://sportello.example/visura/formTool/HASH.js"></script>
 *   <script src="/my-page.js"></script>   // SportelloFormTool.render(el, {onSubmit: fn})
 *
 * The form is checked in the browser with the service's JSON Schema (the same document as
 * GET /visure/{hash}/schema); the finished json_visura goes to the page's onSubmit callback.
 * This script never sees a token: the page's own server sends POST /richiesta.
 * No eval, no inline handlers, no inline styles: it runs under a strict CSP. Style it with the
 * classes sportello-form, sportello-campo, sportello-istruzioni, sportello-errore.
 *
 * This file is a function expression; the server appends the form's data as its argument.
 *
 * SPDX-License-Identifier: MIT OR Apache-2.0
 * Copyright (c) 2026 the Sportello contributors. Unlike the server (AGPL-3.0-or-later), this
 * script runs inside integrators' own pages, so it is licensed MIT OR Apache-2.0, at your
 * option (the texts: LICENSE-MIT and LICENSE-APACHE beside the sportello-client crate).
 */
(function (FORM) {
  "use strict";

  var MESSAGES = {
    testo: "Testo non valido: una sola riga, senza caratteri di controllo, entro la lunghezza massima.",
    denominazione: "Testo non valido: una sola riga, senza caratteri di controllo, entro la lunghezza massima.",
    email: "Indirizzo e-mail non valido.",
    data_iso8601: "Data non valida: usa il formato AAAA-MM-GG.",
    codice_fiscale: "Codice fiscale o partita IVA non validi.",
    codice_fiscale_persona_fisica: "Codice fiscale non valido.",
    partita_iva: "Codice fiscale o partita IVA non validi.",
    cod_provincia: "Sigla di provincia non valida (per esempio RM).",
    cod_comune: "Codice catastale del comune non valido (per esempio H501).",
    file: "File non valido.",
  };
  var REQUIRED = "Campo obbligatorio.";
  var MISSING = "Mancano dati: compila ";
  var OR = " oppure ";
  var INVALID = "Correggi i campi segnalati.";
  var TOO_BIG = "File troppo grande: al massimo ";
  var UNREADABLE = "Impossibile leggere il file.";

  // --- a JSON Schema subset: the keywords GET /visure/{hash}/schema uses ---------------------

  var regexps = {};
  function regexp(pattern) {
    if (!Object.prototype.hasOwnProperty.call(regexps, pattern)) {
      try {
        regexps[pattern] = new RegExp(pattern, "u");
      } catch (e) {
        // A pattern this browser cannot compile is left to the server, which checks anyway.
        regexps[pattern] = null;
      }
    }
    return regexps[pattern];
  }

  function resolve(root, ref) {
    if (ref.indexOf("#") !== 0) return {};
    var node = root;
    ref
      .slice(1)
      .split("/")
      .filter(function (p) {
        return p !== "";
      })
      .forEach(function (part) {
        var key = part.replace(/~1/g, "/").replace(/~0/g, "~");
        node = node && typeof node === "object" ? node[key] : undefined;
      });
    return node || {};
  }

  function typeOf(value) {
    if (value === null) return "null";
    if (Array.isArray(value)) return "array";
    if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
    return typeof value;
  }

  function typeMatches(expected, value) {
    var actual = typeOf(value);
    var list = Array.isArray(expected) ? expected : [expected];
    return list.some(function (t) {
      return t === actual || (t === "number" && actual === "integer");
    });
  }

  function valid(schema, value, root) {
    if (schema === true || schema === undefined) return true;
    if (schema === false) return false;
    if (schema.$ref && !valid(resolve(root, schema.$ref), value, root)) return false;
    if (schema.type !== undefined && !typeMatches(schema.type, value)) return false;
    if (schema.const !== undefined && JSON.stringify(schema.const) !== JSON.stringify(value)) return false;
    if (
      schema.enum &&
      !schema.enum.some(function (e) {
        return JSON.stringify(e) === JSON.stringify(value);
      })
    )
      return false;
    if (typeof value === "string") {
      var length = Array.from(value).length;
      if (schema.maxLength !== undefined && length > schema.maxLength) return false;
      if (schema.minLength !== undefined && length < schema.minLength) return false;
      if (schema.pattern !== undefined) {
        var re = regexp(schema.pattern);
        if (re && !re.test(value)) return false;
      }
    }
    if (typeOf(value) === "object") {
      var keys = Object.keys(value);
      var props = schema.properties || {};
      if (
        schema.required &&
        !schema.required.every(function (k) {
          return Object.prototype.hasOwnProperty.call(value, k);
        })
      )
        return false;
      for (var i = 0; i < keys.length; i++) {
        var k = keys[i];
        if (Object.prototype.hasOwnProperty.call(props, k)) {
          if (!valid(props[k], value[k], root)) return false;
        } else if (schema.additionalProperties !== undefined) {
          if (!valid(schema.additionalProperties, value[k], root)) return false;
        }
      }
    }
    if (
      schema.allOf &&
      !schema.allOf.every(function (s) {
        return valid(s, value, root);
      })
    )
      return false;
    if (
      schema.anyOf &&
      !schema.anyOf.some(function (s) {
        return valid(s, value, root);
      })
    )
      return false;
    if (
      schema.oneOf &&
      schema.oneOf.filter(function (s) {
        return valid(s, value, root);
      }).length !== 1
    )
      return false;
    if (schema.not !== undefined && valid(schema.not, value, root)) return false;
    return true;
  }

  // --- the form ---------------------------------------------------------------------------

  function element(tag, className, text) {
    var el = document.createElement(tag);
    if (className) el.className = className;
    if (text) el.textContent = text;
    return el;
  }

  function readFile(file) {
    return new Promise(function (ok, fail) {
      var reader = new FileReader();
      reader.addEventListener("load", function () {
        ok(reader.result);
      });
      reader.addEventListener("error", function () {
        fail(reader.error);
      });
      reader.readAsDataURL(file);
    });
  }

  function megabytes(bytes) {
    return (Math.round((bytes / 1048576) * 10) / 10).toString().replace(".", ",") + " MB";
  }

  function render(target, options) {
    options = options || {};
    var forms = window.SportelloFormTool.forms;
    var hash = options.hash_visura;
    if (!hash) {
      var loaded = Object.keys(forms);
      if (loaded.length !== 1) throw new Error("SportelloFormTool.render: say which hash_visura");
      hash = loaded[0];
    }
    var data = forms[hash];
    if (!data) throw new Error("SportelloFormTool.render: no form loaded for " + hash);
    if (typeof target === "string") target = document.querySelector(target);
    if (!target) throw new Error("SportelloFormTool.render: no target element");
    var onSubmit = options.onSubmit;
    if (typeof onSubmit !== "function") throw new Error("SportelloFormTool.render: onSubmit is required");

    var schema = data.schema;
    var form = element("form", "sportello-form");
    form.noValidate = true;
    form.setAttribute("data-hash-visura", hash);
    if (data.nome_visura) form.appendChild(element("h3", "sportello-titolo", data.nome_visura));
    var inputs = {};
    var errors = {};
    var fieldSchemas = (schema && schema.properties) || {};

    data.campi.forEach(function (campo) {
      var id = "sportello-" + hash + "-" + campo.chiave.replace("$", "");
      var box = element("div", "sportello-campo");
      box.setAttribute("data-chiave", campo.chiave);
      var label = element("label", null, campo.nome);
      label.htmlFor = id;
      var input = element("input");
      input.id = id;
      input.name = campo.chiave;
      if (campo.tipo === "file") {
        input.type = "file";
        input.accept = "application/pdf,image/jpeg,image/png";
      } else {
        input.type = campo.tipo === "email" ? "email" : "text";
        if (campo.tipo === "data_iso8601") input.placeholder = "AAAA-MM-GG";
        input.autocomplete = "off";
      }
      box.appendChild(label);
      box.appendChild(input);
      if (campo.istruzioni) {
        var help = element("small", "sportello-istruzioni", campo.istruzioni);
        help.id = id + "-istruzioni";
        input.setAttribute("aria-describedby", help.id);
        box.appendChild(help);
      }
      var error = element("span", "sportello-errore");
      error.setAttribute("role", "alert");
      box.appendChild(error);
      inputs[campo.chiave] = input;
      errors[campo.chiave] = error;
      form.appendChild(box);
    });

    var general = element("p", "sportello-errore sportello-errore-generale");
    general.setAttribute("role", "alert");
    form.appendChild(general);
    var button = element("button", "sportello-invia", options.submitLabel || "Conferma");
    button.type = "submit";
    form.appendChild(button);

    function names(keys) {
      return keys
        .map(function (k) {
          var c = data.campi.filter(function (x) {
            return x.chiave === k;
          })[0];
          return c ? c.nome : k;
        })
        .join(", ");
    }

    function clear() {
      Object.keys(errors).forEach(function (k) {
        errors[k].textContent = "";
        inputs[k].removeAttribute("aria-invalid");
      });
      general.textContent = "";
    }

    function flag(key, message) {
      errors[key].textContent = message;
      inputs[key].setAttribute("aria-invalid", "true");
    }

    // The values the user gave: a blank field counts as absent, as on the server.
    function collect() {
      var out = {};
      var problems = {};
      var reads = data.campi.map(function (campo) {
        var input = inputs[campo.chiave];
        if (campo.tipo !== "file") {
          if (input.value.trim() !== "") out[campo.chiave] = input.value;
          return Promise.resolve();
        }
        var file = input.files && input.files[0];
        if (!file) return Promise.resolve();
        var max = (fieldSchemas[campo.chiave] || {})["x-max-bytes"];
        if (typeof max !== "number") {
          var shapes = (fieldSchemas[campo.chiave] || {}).anyOf || [];
          shapes.forEach(function (s) {
            if (typeof s["x-max-bytes"] === "number") max = s["x-max-bytes"];
          });
        }
        if (typeof max === "number" && file.size > max) {
          problems[campo.chiave] = TOO_BIG + megabytes(max) + ".";
          return Promise.resolve();
        }
        return readFile(file).then(
          function (url) {
            out[campo.chiave] = file.name.replace(/\|/g, "_") + "|" + url;
          },
          function () {
            problems[campo.chiave] = UNREADABLE;
          },
        );
      });
      return Promise.all(reads).then(function () {
        return { values: out, problems: problems };
      });
    }

    function check(values, problems) {
      var ok = true;
      Object.keys(problems).forEach(function (k) {
        flag(k, problems[k]);
        ok = false;
      });
      Object.keys(values).forEach(function (k) {
        if (!valid(fieldSchemas[k], values[k], schema)) {
          var campo = data.campi.filter(function (x) {
            return x.chiave === k;
          })[0];
          flag(k, MESSAGES[campo && campo.tipo] || MESSAGES.testo);
          ok = false;
        }
      });
      if (!ok) {
        general.textContent = INVALID;
        return false;
      }
      if (valid(schema, values, schema)) return true;
      // Which fields each way of satisfying `validazione` still lacks; the closest first.
      var alternatives = (schema.anyOf || [])
        .map(function (alt) {
          return (alt.required || []).filter(function (k) {
            return !Object.prototype.hasOwnProperty.call(values, k);
          });
        })
        .filter(function (missing) {
          return missing.length > 0;
        })
        .sort(function (a, b) {
          return a.length - b.length;
        });
      if (alternatives.length === 0) {
        general.textContent = INVALID;
        return false;
      }
      alternatives[0].forEach(function (k) {
        flag(k, REQUIRED);
      });
      general.textContent =
        MISSING +
        alternatives
          .slice(0, 3)
          .map(function (missing) {
            return names(missing);
          })
          .join(OR) +
        ".";
      return false;
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      clear();
      button.disabled = true;
      collect()
        .then(function (r) {
          if (check(r.values, r.problems)) onSubmit(r.values, { hash_visura: hash });
        })
        .catch(function (e) {
          general.textContent = String(e && e.message ? e.message : e);
        })
        .then(function () {
          button.disabled = false;
        });
    });

    target.appendChild(form);
    return form;
  }

  // --- registration: several forms may be loaded in one page --------------------------------

  var tool = window.SportelloFormTool;
  if (!tool) {
    tool = window.SportelloFormTool = { forms: {}, render: render, valid: valid };
  }
  tool.forms[FORM.hash_visura] = FORM;

  // Declarative use, with no script of the page's own in between:
  // <script src=".../HASH.js" data-target="#modulo" data-callback="myFunction"></script>
  var current = document.currentScript;
  var selector = current && current.getAttribute("data-target");
  var callbackName = current && current.getAttribute("data-callback");
  if (selector && callbackName) {
    var start = function () {
      render(selector, {
        hash_visura: FORM.hash_visura,
        onSubmit: function (json, info) {
          var fn = window[callbackName];
          if (typeof fn === "function") fn(json, info);
        },
      });
    };
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
    else start();
  }
})
