/* counterwatch dashboard: shared helpers (messages, CSRF token, API posts, logout, missing images). */
(function () {
  'use strict';

  var CSRF_KEY = 'counterwatch.csrf';
  var memoryToken = '';
  var messages = {};
  try {
    messages = JSON.parse(document.getElementById('cw-messages').textContent);
  } catch (e) { /* strings fall back to their keys */ }

  function t(key, fields) {
    var text = messages[key] || key;
    Object.keys(fields || {}).forEach(function (name) {
      text = text.split('{' + name + '}').join(String(fields[name]));
    });
    return text;
  }

  // The CSRF token from the login answer lives in this tab's sessionStorage (never in a cookie or a page).
  function csrf() {
    try { return window.sessionStorage.getItem(CSRF_KEY) || memoryToken; } catch (e) { return memoryToken; }
  }

  function setCsrf(token) {
    memoryToken = token || '';
    try {
      if (token) { window.sessionStorage.setItem(CSRF_KEY, token); } else { window.sessionStorage.removeItem(CSRF_KEY); }
    } catch (e) { /* storage disabled: the token stays in memory for this page */ }
  }

  // A tab opened without the login (a new window, a bookmark): ask the API whether it hands the token out again.
  async function ensureCsrf() {
    if (csrf()) { return csrf(); }
    try {
      var response = await fetch('/api/v1/auth/me', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
      if (response.ok) {
        var me = await response.json();
        if (me && me.csrf_token) { setCsrf(me.csrf_token); }
      }
    } catch (e) { /* offline: the post will fail and say so */ }
    return csrf();
  }

  function problem(data, status) {
    if (data && typeof data.detail === 'string') { return data.detail; }
    if (data && Array.isArray(data.detail)) {
      return data.detail.map(function (d) { return d && d.msg ? d.msg : JSON.stringify(d); }).join('; ');
    }
    if (data && data.title) { return data.title; }
    return 'HTTP ' + status;
  }

  async function post(url, body) { return send('POST', url, body); }

  async function send(method, url, body) {
    var token = await ensureCsrf();
    var response = await fetch(url, {
      method: method,
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': token },
      body: JSON.stringify(body || {})
    });
    var data = null;
    try { data = await response.json(); } catch (e) { /* empty or not JSON */ }
    return { ok: response.ok, status: response.status, data: data };
  }

  function toLogin() {
    window.location.assign('/login?next=' + encodeURIComponent(window.location.pathname + window.location.search));
  }

  // A missing snapshot (purged, not written yet) shows a labelled placeholder instead of a broken image.
  document.addEventListener('error', function (event) {
    var image = event.target;
    if (!(image instanceof HTMLImageElement) || !image.dataset.fallback) { return; }
    var placeholder = document.createElement('span');
    placeholder.className = image.className + ' alert__thumb--none';
    placeholder.textContent = image.dataset.fallback;
    image.replaceWith(placeholder);
  }, true);

  document.addEventListener('DOMContentLoaded', function () {
    var logout = document.getElementById('logout');
    if (logout) {
      logout.addEventListener('click', async function () {
        logout.disabled = true;
        try { await post('/api/v1/auth/logout', {}); } catch (e) { /* leave anyway */ }
        setCsrf('');
        window.location.assign('/login');
      });
    }
    document.querySelectorAll('select[data-autosubmit]').forEach(function (select) {
      select.addEventListener('change', function () { select.form.submit(); });
    });
  });

  window.cw = { t: t, csrf: csrf, setCsrf: setCsrf, post: post, send: send, problem: problem, toLogin: toLogin };
})();
