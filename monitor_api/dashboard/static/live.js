/* Live updates: the API's event stream (SSE) says what changed; the affected regions are re-rendered by the server
   and swapped in, so every string stays translated and escaped by the templates. Polls while the stream is down. */
(function () {
  'use strict';

  var STREAM_URL = '/api/v1/events/stream';
  var EVENT_TYPES = ['incident.opened', 'incident.updated', 'incident.closed', 'incident.reviewed', 'camera.state',
    'window.status'];
  var POLL_S = 10;
  var REFRESH_S = 30; // durations, camera ages and stale windows move on even when nothing is pushed
  var DEBOUNCE_MS = 250;
  var MIN_INTERVAL_MS = 1000; // a busy hall sends many messages: re-render a region at most once a second

  document.addEventListener('DOMContentLoaded', function () {
    var regions = Array.prototype.slice.call(document.querySelectorAll('[data-live-fragment]'));
    if (!regions.length) { return; }
    var statusEl = document.getElementById('live-status');
    var announcer = document.getElementById('announcer');
    var hallEl = document.querySelector('[data-hall]');
    var hall = hallEl ? hallEl.dataset.hall : null;
    var dirty = new Set();
    var fresh = new Set();
    var timer = null;
    var pollTimer = null;
    var source = null;
    var lastRefresh = 0;

    function setStatus(state) {
      if (!statusEl) { return; }
      statusEl.dataset.state = state;
      statusEl.textContent = state === 'connected' ? window.cw.t('live.connected')
        : state === 'connecting' ? window.cw.t('live.connecting')
          : window.cw.t('live.disconnected', { seconds: POLL_S });
    }

    function interested(region, type) {
      return (region.dataset.liveEvents || '').split(',').some(function (prefix) {
        return prefix && type.indexOf(prefix) === 0;
      });
    }

    async function refresh(which) {
      for (var i = 0; i < which.length; i++) {
        var region = which[i];
        var response;
        try {
          response = await fetch(region.dataset.liveFragment, { credentials: 'same-origin', headers: { Accept: 'text/html' } });
        } catch (e) { continue; }
        if (response.status === 401) { window.cw.toLogin(); return; }
        if (!response.ok) { continue; }
        swap(region, await response.text());
      }
      announceFresh();
    }

    // `html` is a server-rendered, autoescaped fragment of our own templates. An alert card whose review the
    // supervisor has begun (feed_review.js marks it is-reviewing) stays as it is while the new render still offers
    // that review, so a live update never throws away a half-made choice.
    function swap(region, html) {
      var kept = Array.prototype.slice.call(region.querySelectorAll('[data-incident-id].is-reviewing'));
      region.innerHTML = html;
      kept.forEach(function (card) {
        var fresh = region.querySelector('[data-incident-id="' + CSS.escape(card.dataset.incidentId) + '"]');
        if (fresh && fresh.querySelector('form.alert__review')) { fresh.replaceWith(card); }
      });
      document.dispatchEvent(new CustomEvent('cw:swapped', { detail: { region: region } }));
    }

    function announceFresh() {
      fresh.forEach(function (id) {
        var item = document.querySelector('[data-incident-id="' + CSS.escape(id) + '"]');
        if (!item) { return; }
        fresh.delete(id);
        item.classList.add('is-new');
        if (announcer && item.dataset.announce) { announcer.textContent = item.dataset.announce; }
      });
    }

    // type null: every region (polling, catching up after a reconnect).
    function schedule(type) {
      regions.forEach(function (region) { if (!type || interested(region, type)) { dirty.add(region); } });
      kick();
    }

    function kick() {
      if (timer || !dirty.size) { return; }
      var wait = Math.max(DEBOUNCE_MS, lastRefresh + MIN_INTERVAL_MS - Date.now());
      timer = window.setTimeout(function () {
        var which = Array.from(dirty);
        dirty.clear();
        lastRefresh = Date.now();
        refresh(which).finally(function () { timer = null; kick(); });
      }, wait);
    }

    // Windows report their status every few seconds: only a change of what a tile shows needs a re-render.
    function tileChanges(message) {
      var tile = document.querySelector('[data-window-id="' + CSS.escape(String(message.window_id || '')) + '"]');
      if (!tile) { return true; }
      var shown = tile.dataset.status;
      if (shown === 'in_incident') { return false; } // the incident's own messages end that state
      var now = message.paused ? 'paused' : message.present === true ? 'present'
        : message.present === false ? 'absent' : null;
      return now === null || now !== shown;
    }

    function incidentOf(message) {
      var incident = message.incident || message.data || message;
      return { id: incident.id || incident.incident_id || message.incident_id, hall: incident.hall_id || message.hall_id };
    }

    function handle(type, raw) {
      var message;
      try { message = JSON.parse(raw); } catch (e) { return; }
      type = message.type || type;
      if (!type) { return; }
      var about = incidentOf(message);
      if (hall && about.hall && about.hall !== hall) { return; }
      if (type === 'incident.opened' && about.id) { fresh.add(String(about.id)); }
      if (type === 'window.status' && !tileChanges(message)) { return; }
      schedule(type);
    }

    function startPolling() {
      if (pollTimer) { return; }
      pollTimer = window.setInterval(function () { schedule(null); }, POLL_S * 1000);
    }

    function stopPolling() {
      if (pollTimer) { window.clearInterval(pollTimer); pollTimer = null; }
    }

    function connect() {
      if (!window.EventSource) { setStatus('disconnected'); startPolling(); return; }
      setStatus('connecting');
      source = new EventSource(STREAM_URL);
      var wasDown = false;
      source.onopen = function () {
        setStatus('connected');
        stopPolling();
        if (wasDown) { schedule(null); } // catch up with what happened while the stream was down
        wasDown = false;
      };
      source.onmessage = function (event) { handle(null, event.data); };
      EVENT_TYPES.forEach(function (type) {
        source.addEventListener(type, function (event) { handle(type, event.data); });
      });
      source.onerror = function () {
        wasDown = true;
        setStatus('disconnected');
        startPolling();
        if (source.readyState === EventSource.CLOSED) { // refused for good (e.g. the session ended)
          source = null;
          fetch('/api/v1/auth/me', { credentials: 'same-origin' }).then(function (response) {
            if (response.status === 401) { window.cw.toLogin(); } else { window.setTimeout(connect, POLL_S * 1000); }
          }, function () { window.setTimeout(connect, POLL_S * 1000); });
        }
      };
    }

    // Another script changed something (a review on an alert card): re-render what shows it now.
    document.addEventListener('cw:stale', function (event) { schedule((event.detail && event.detail.type) || null); });
    window.setInterval(function () { schedule(null); }, REFRESH_S * 1000);
    window.addEventListener('pagehide', function () { if (source) { source.close(); } });
    connect();
  });
})();
