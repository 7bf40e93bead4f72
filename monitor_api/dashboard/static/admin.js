/* Admin pages: each form.admin-form sends JSON to the API (data-action, data-method) with the CSRF header, like
   every action of the dashboard. On success the page reloads and says what was done (data-done, kept in
   sessionStorage across the reload); a new API key is shown once instead (data-reveal names the answer's field).
   A refusal is explained in the page's language from the failing field (messages in #admin-messages), never shown
   raw. Fields: data-type="list" (checkboxes -> array), "number" (empty -> null), "optional" (empty -> null),
   "json" (hidden literal), "staff" (a staff member -> staff_hall_id + staff_id, or unlink_staff). Controls in a
   fieldset or hint marked data-for-roles show, and are sent, only for those roles. */
(function () {
  'use strict';

  var FLASH_KEY = 'counterwatch.admin-done';
  var PASSWORD_LENGTH = 16;
  var PASSWORD_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  var messages = { fields: {}, status: {} };
  try {
    messages = JSON.parse(document.getElementById('admin-messages').textContent);
  } catch (e) { /* the generic messages of app.js remain */ }

  function say(element, text, kind) {
    if (!element) { return; }
    element.textContent = text;
    element.className = 'message message--' + kind;
    element.hidden = !text;
  }

  function formBody(form) {
    var body = {};
    Array.prototype.forEach.call(form.elements, function (element) {
      if (!element.name || element.matches(':disabled')) { return; }
      var type = element.dataset.type || '';
      if (type === 'list') {
        body[element.name] = body[element.name] || [];
        if (element.checked) { body[element.name].push(element.value); }
        return;
      }
      if (type === 'staff') {
        var option = element.selectedOptions[0];
        if (option && option.dataset.hall) {
          body.staff_hall_id = option.dataset.hall;
          body.staff_id = option.dataset.staff;
        } else if (option && option.dataset.unlink) {
          body.unlink_staff = true;
        }
        return;
      }
      if (type === 'json') { body[element.name] = JSON.parse(element.value); return; }
      var value = element.type === 'password' ? element.value : element.value.trim();
      if (type === 'number') { body[element.name] = value === '' ? null : Number(value); return; }
      if (type === 'optional') { body[element.name] = value === '' ? null : value; return; }
      body[element.name] = value;
    });
    return body;
  }

  // Why the API refused, in words: the failing fields' sentences, else the status's, else the API's own text.
  function explain(form, result) {
    if (result.status === 401) { return window.cw.t('action.session_expired'); }
    if (result.status === 403) { return window.cw.t('action.forbidden'); }
    var data = result.data || {};
    if (result.status === 409 && form.dataset.conflict) { return form.dataset.conflict; }
    var texts = [];
    (Array.isArray(data.errors) ? data.errors : []).forEach(function (error) {
      var name = String((error && error.field) || '').split('.')[1] || '';
      var text = result.status === 409 && name === 'username' ? messages.exists : messages.fields[name];
      if (text && texts.indexOf(text) < 0) { texts.push(text); }
    });
    if (texts.length) { return texts.join(' '); }
    var byStatus = messages.status[String(result.status)];
    if (byStatus) { return byStatus; }
    return window.cw.t('action.failed', { detail: window.cw.problem(data, result.status) });
  }

  function reveal(form, value) {
    var panel = document.getElementById('key-secret');
    document.getElementById('key-secret-value').value = value;
    panel.hidden = false;
    form.reset();
    panel.focus();
    panel.scrollIntoView({ block: 'start' });
  }

  async function submit(form) {
    var status = form.querySelector('[data-status]');
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) { return; }
    var buttons = form.querySelectorAll('button');
    buttons.forEach(function (b) { b.disabled = true; });
    say(status, window.cw.t('action.working'), 'info');
    var result;
    try {
      result = await window.cw.send(form.dataset.method || 'POST', form.dataset.action, formBody(form));
    } catch (e) {
      result = { ok: false, status: 0, data: null };
    }
    buttons.forEach(function (b) { b.disabled = false; });
    if (result.ok && form.dataset.reveal) {
      say(status, '', 'ok');
      reveal(form, result.data ? result.data[form.dataset.reveal] : '');
      return;
    }
    if (result.ok) {
      try { sessionStorage.setItem(FLASH_KEY, form.dataset.done || window.cw.t('action.done')); } catch (e) { /* */ }
      window.location.reload();
      return;
    }
    say(status, explain(form, result), 'error');
    if (result.status === 401) { window.setTimeout(window.cw.toLogin, 1500); }
  }

  function showForRole(form) {
    var select = form.querySelector('[data-role-select]');
    if (!select) { return; }
    form.querySelectorAll('[data-for-roles]').forEach(function (part) {
      var show = part.dataset.forRoles.split(' ').indexOf(select.value) >= 0;
      part.hidden = !show;
      if (part.tagName === 'FIELDSET') { part.disabled = !show; }
    });
  }

  function generatePassword() {
    var random = new Uint32Array(PASSWORD_LENGTH);
    window.crypto.getRandomValues(random);
    return Array.prototype.map.call(random, function (n) {
      return PASSWORD_ALPHABET.charAt(n % PASSWORD_ALPHABET.length);
    }).join('');
  }

  document.addEventListener('DOMContentLoaded', function () {
    var flash = null;
    try { flash = sessionStorage.getItem(FLASH_KEY); sessionStorage.removeItem(FLASH_KEY); } catch (e) { flash = null; }
    if (flash) { say(document.getElementById('action-status'), flash, 'ok'); }

    document.querySelectorAll('form.admin-form').forEach(function (form) {
      var select = form.querySelector('[data-role-select]');
      if (select) {
        select.addEventListener('change', function () { showForRole(form); });
        showForRole(form);
      }
      form.addEventListener('submit', function (event) {
        event.preventDefault();
        submit(form); // no browser validation bubbles: the API checks, and its refusal is said in the page's language
      });
    });

    document.querySelectorAll('[data-generate]').forEach(function (button) {
      button.addEventListener('click', function () {
        var input = document.getElementById(button.dataset.generate);
        input.value = generatePassword();
        input.type = 'text'; // visible, to be handed over to its owner
        input.select();
      });
    });

    document.querySelectorAll('[data-copy]').forEach(function (button) {
      button.addEventListener('click', async function () {
        var input = document.getElementById(button.dataset.copy);
        input.select();
        try { await navigator.clipboard.writeText(input.value); } catch (e) { document.execCommand('copy'); }
        button.textContent = messages.copied || button.textContent;
      });
    });
  });
})();
