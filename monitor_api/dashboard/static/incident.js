/* Incident actions: acknowledge, review (confirm / dismiss with a reason code and a note), appeal, appeal decision.
   Each form posts JSON to the API with the CSRF header; on success the page reloads to show the new state and
   says what was done (kept in sessionStorage across the reload); a failure is said in place. */
(function () {
  'use strict';

  function formBody(form) {
    var body = {};
    new FormData(form).forEach(function (value, name) { body[name] = typeof value === 'string' ? value.trim() : value; });
    return body;
  }

  function filterReasons(form) {
    var select = form.querySelector('select[name="reason_code"]');
    var checked = form.querySelector('input[name="decision"]:checked');
    if (!select) { return; }
    var decision = checked ? checked.value : null;
    Array.prototype.forEach.call(select.options, function (option) {
      if (!option.dataset.decision) { return; }
      var show = decision === option.dataset.decision;
      option.hidden = !show;
      option.disabled = !show;
    });
    var current = select.selectedOptions[0];
    if (current && current.disabled) { select.value = ''; }
  }

  var FLASH_KEY = 'counterwatch.action-done';
  var TOAST_MS = 8000;

  // What a successful form did, as a catalogue key: the decision taken, else the form's own kind.
  function doneKey(form, body) {
    var key = 'action.done.' + (body.decision || form.dataset.done || '');
    return window.cw.t(key) === key ? 'action.done' : key;
  }

  document.addEventListener('DOMContentLoaded', function () {
    var status = document.getElementById('action-status');

    function say(text, kind) {
      status.textContent = text;
      status.className = 'message message--' + kind;
      status.hidden = !text;
    }

    var flash = null;
    try { flash = sessionStorage.getItem(FLASH_KEY); sessionStorage.removeItem(FLASH_KEY); } catch (e) { flash = null; }
    if (flash && status) {
      say(window.cw.t(flash), 'ok');
      status.classList.add('toast');
      window.setTimeout(function () { status.classList.remove('toast'); }, TOAST_MS);
    }

    document.querySelectorAll('form.action-form').forEach(function (form) {
      if (form.querySelector('input[name="decision"]')) {
        form.querySelectorAll('input[name="decision"]').forEach(function (radio) {
          radio.addEventListener('change', function () { filterReasons(form); });
        });
        filterReasons(form);
      }
      form.addEventListener('submit', async function (event) {
        event.preventDefault();
        if (!form.reportValidity()) { return; }
        var buttons = form.querySelectorAll('button');
        buttons.forEach(function (b) { b.disabled = true; });
        say(window.cw.t('action.working'), 'info');
        var result;
        var body = formBody(form);
        try {
          result = await window.cw.post(form.dataset.action, body);
        } catch (e) {
          result = { ok: false, status: 0, data: null };
        }
        if (result.ok) {
          var done = doneKey(form, body);
          say(window.cw.t(done), 'ok');
          try { sessionStorage.setItem(FLASH_KEY, done); } catch (e) { /* the reloaded page shows the new state */ }
          window.location.reload();
          return;
        }
        buttons.forEach(function (b) { b.disabled = false; });
        if (result.status === 401) {
          say(window.cw.t('action.session_expired'), 'error');
          window.setTimeout(window.cw.toLogin, 1500);
        } else if (result.status === 403) {
          say(window.cw.t('action.forbidden') + ' ' + window.cw.problem(result.data, result.status), 'error');
        } else if (result.status === 409) {
          say(window.cw.t('action.conflict'), 'error');
        } else {
          say(window.cw.t('action.failed', { detail: window.cw.problem(result.data, result.status) }), 'error');
        }
      });
    });
  });
})();
