/* The labelling queue: one keystroke labels the frame. Each label is a form (one per button) that posts JSON to
   the API with the CSRF header, like the incident actions; on success the page reloads and shows the next frame.
   The keys (data-key on each form: 1-5, 0, s) submit the matching form. */
(function () {
  'use strict';

  function editing(target) {
    return target instanceof HTMLElement &&
      (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  document.addEventListener('DOMContentLoaded', function () {
    var forms = Array.prototype.slice.call(document.querySelectorAll('form.label-form'));
    if (!forms.length) { return; }
    var status = document.getElementById('action-status');
    var busy = false;

    function say(text, kind) {
      status.textContent = text;
      status.className = 'message message--' + kind;
      status.hidden = !text;
    }

    function setBusy(value) {
      busy = value;
      forms.forEach(function (form) { form.querySelector('button').disabled = value; });
    }

    forms.forEach(function (form) {
      form.addEventListener('submit', async function (event) {
        event.preventDefault();
        if (busy) { return; }
        setBusy(true);
        say(window.cw.t('action.working'), 'info');
        var result;
        try {
          result = await window.cw.post(form.dataset.action, { label: form.elements.label.value });
        } catch (e) {
          result = { ok: false, status: 0, data: null };
        }
        if (result.ok) {
          window.location.reload();
          return;
        }
        setBusy(false);
        if (result.status === 401) {
          say(window.cw.t('action.session_expired'), 'error');
          window.setTimeout(window.cw.toLogin, 1500);
        } else if (result.status === 403) {
          say(window.cw.t('action.forbidden') + ' ' + window.cw.problem(result.data, result.status), 'error');
        } else {
          say(window.cw.t('action.failed', { detail: window.cw.problem(result.data, result.status) }), 'error');
        }
      });
    });

    document.addEventListener('keydown', function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey || event.repeat || editing(event.target)) { return; }
      var key = (event.key || '').toLowerCase();
      var form = forms.filter(function (f) { return f.dataset.key === key; })[0];
      if (!form || busy) { return; }
      event.preventDefault();
      form.requestSubmit();
    });
  });
})();
