/* Login form: the API sets the session cookie and answers the CSRF token, kept in this tab's sessionStorage. */
(function () {
  'use strict';

  document.addEventListener('DOMContentLoaded', function () {
    var form = document.getElementById('login-form');
    var message = document.getElementById('login-message');
    var submit = document.getElementById('login-submit');
    var label = submit.textContent;

    function show(text) {
      message.textContent = text;
      message.hidden = !text;
    }

    form.addEventListener('submit', async function (event) {
      event.preventDefault();
      show('');
      submit.disabled = true;
      submit.textContent = window.cw.t('login.working');
      try {
        var response = await fetch('/api/v1/auth/login', {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
          body: JSON.stringify({ username: form.username.value.trim(), password: form.password.value })
        });
        var data = null;
        try { data = await response.json(); } catch (e) { /* not JSON */ }
        if (response.ok && data && data.csrf_token) {
          window.cw.setCsrf(data.csrf_token);
          window.location.assign(form.dataset.next || '/dashboard');
          return;
        }
        if (response.status === 401 || response.status === 400 || response.status === 422) {
          show(window.cw.t('login.failed'));
        } else if (response.status === 423 || response.status === 429) {
          show(window.cw.t('login.locked'));
        } else {
          show(window.cw.t('login.error', { status: response.status }));
        }
      } catch (e) {
        show(window.cw.t('login.error', { status: '—' }));
      }
      form.password.value = '';
      submit.disabled = false;
      submit.textContent = label;
      form.password.focus();
    });
  });
})();
