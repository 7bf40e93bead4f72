/* Reviews on the live wall's alert cards: confirm or dismiss an incident with one of the incident page's reason codes
   (and an optional note), posted to the same API route as the incident page's review form
   (POST /api/v1/incidents/{id}/review, with the CSRF header: cw.post). The card shows its new state at once and says
   what was done; live.js then re-renders the feed from the server. Refusals are said on the card, in the page's
   language. The feed is re-rendered whenever something happens in the hall, so every handler is delegated from the
   document, a card being reviewed is kept across re-renders (live.js: is-reviewing), and the last word said on a
   card is said again after a re-render for FEEDBACK_MS. */
(function () {
  'use strict';

  var FEEDBACK_MS = 8000;
  var feedback = {}; // incident id -> { text, kind, until }
  var reviewing = new Set(); // ids of the cards whose review panel is open

  function cardOf(node) { return node.closest('li[data-incident-id]'); }

  function say(card, text, kind) {
    var line = card && card.querySelector('.alert__message');
    if (!line) { return; }
    line.textContent = text;
    line.className = 'alert__message message message--' + kind;
    line.hidden = !text;
  }

  // Said now, and again on the re-rendered card for a while.
  function remember(card, text, kind) {
    feedback[card.dataset.incidentId] = { text: text, kind: kind, until: Date.now() + FEEDBACK_MS };
    say(card, text, kind);
  }

  function stale() {
    document.dispatchEvent(new CustomEvent('cw:stale', { detail: { type: 'incident.reviewed' } }));
  }

  function stateLabel(state) {
    if (state === 'confirmed') { return window.cw.t('review_state.confirmed'); }
    if (state === 'dismissed') { return window.cw.t('review_state.dismissed'); }
    return state;
  }

  // The reason codes of one decision only, as on the incident page.
  function choose(form, decision) {
    form.dataset.decision = decision;
    form.querySelectorAll('.alert__decide').forEach(function (button) {
      button.setAttribute('aria-pressed', String(button.dataset.decision === decision));
    });
    var select = form.elements.reason_code;
    Array.prototype.forEach.call(select.options, function (option) {
      if (!option.dataset.decision) { return; }
      var show = option.dataset.decision === decision;
      option.hidden = !show;
      option.disabled = !show;
    });
    var current = select.selectedOptions[0];
    if (current && current.disabled) { select.value = ''; }
    form.querySelector('.alert__panel').hidden = false;
    cardOf(form).classList.add('is-reviewing');
    reviewing.add(cardOf(form).dataset.incidentId);
    say(cardOf(form), '', 'info');
    select.focus();
  }

  function close(form) {
    delete form.dataset.decision;
    form.querySelectorAll('.alert__decide').forEach(function (button) { button.setAttribute('aria-pressed', 'false'); });
    form.querySelector('.alert__panel').hidden = true;
    cardOf(form).classList.remove('is-reviewing');
    reviewing.delete(cardOf(form).dataset.incidentId);
  }

  function setBusy(form, busy) {
    form.dataset.busy = busy ? 'yes' : '';
    form.querySelectorAll('button, select, input').forEach(function (control) { control.disabled = busy; });
  }

  // The card as the server will render it once the feed is re-rendered: new state, no review form.
  function showReviewed(card, state) {
    reviewing.delete(card.dataset.incidentId);
    card.classList.remove('alert--pending', 'alert--acknowledged', 'is-reviewing');
    card.classList.add('alert--' + state);
    card.dataset.reviewState = state;
    var badge = card.querySelector('.alert__badges [class*="badge--review-"]');
    if (badge) {
      badge.className = 'badge badge--review-' + state;
      badge.textContent = stateLabel(state);
    }
    var form = card.querySelector('form.alert__review');
    if (form) { form.remove(); }
  }

  async function submit(form) {
    var card = cardOf(form);
    var decision = form.dataset.decision;
    var select = form.elements.reason_code;
    if (!decision || form.dataset.busy) { return; }
    if (!select.value) {
      say(card, window.cw.t('feed.review.choose_reason'), 'error');
      select.focus();
      return;
    }
    var body = { decision: decision, reason_code: select.value, note: form.elements.note.value.trim() };
    setBusy(form, true);
    say(card, window.cw.t('action.working'), 'info');
    var result;
    try {
      result = await window.cw.post(form.dataset.action, body);
    } catch (e) {
      result = { ok: false, status: 0, data: null };
    }
    setBusy(form, false);
    if (result.ok) {
      var state = (result.data && result.data.review_state) || (decision === 'confirm' ? 'confirmed' : 'dismissed');
      showReviewed(card, state);
      remember(card, window.cw.t(decision === 'confirm' ? 'action.done.confirm' : 'action.done.dismiss'), 'ok');
      stale();
    } else if (result.status === 401) {
      say(card, window.cw.t('action.session_expired'), 'error');
      window.setTimeout(window.cw.toLogin, 1500);
    } else if (result.status === 403) {
      // Trying again cannot help (e.g. the incident is about this reviewer): the buttons go, the reason stays.
      form.remove();
      card.classList.remove('is-reviewing');
      reviewing.delete(card.dataset.incidentId);
      remember(card, window.cw.t('feed.review.forbidden'), 'error');
    } else if (result.status === 409) {
      // Someone else reviewed it first: the re-rendered card shows what they decided.
      close(form);
      remember(card, window.cw.t('feed.review.conflict'), 'error');
      stale();
    } else if (result.status === 0) {
      say(card, window.cw.t('feed.review.offline'), 'error');
    } else {
      say(card, window.cw.t('action.failed', { detail: window.cw.problem(result.data, result.status) }), 'error');
    }
  }

  document.addEventListener('click', function (event) {
    if (!(event.target instanceof Element)) { return; }
    var decide = event.target.closest('form.alert__review .alert__decide');
    if (decide) { choose(decide.form, decide.dataset.decision); return; }
    var cancel = event.target.closest('form.alert__review .alert__cancel');
    if (cancel) {
      close(cancel.form);
      say(cardOf(cancel.form), '', 'info');
    }
  });

  document.addEventListener('keydown', function (event) {
    if (event.key !== 'Escape' || !(event.target instanceof Element)) { return; }
    var form = event.target.closest('form.alert__review');
    if (form && !form.dataset.busy) { close(form); }
  });

  document.addEventListener('submit', function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.matches('form.alert__review')) { return; }
    event.preventDefault();
    submit(form);
  });

  // After a re-render: a card whose review was under way and that offers none now was reviewed by someone else
  // (live.js keeps a card being reviewed only while the server still offers its review), or now reads why not.
  document.addEventListener('cw:swapped', function () {
    reviewing.forEach(function (id) {
      var card = document.querySelector('li[data-incident-id="' + CSS.escape(id) + '"]');
      if (card && card.querySelector('form.alert__review')) { return; }
      reviewing.delete(id);
      if (card && /^(confirmed|dismissed)$/.test(card.dataset.reviewState || '')) {
        remember(card, window.cw.t('feed.review.conflict'), 'error');
      }
    });
    var now = Date.now();
    Object.keys(feedback).forEach(function (id) {
      var note = feedback[id];
      if (note.until < now) { delete feedback[id]; return; }
      var card = document.querySelector('li[data-incident-id="' + CSS.escape(id) + '"]');
      if (card) { say(card, note.text, note.kind); }
    });
  });
})();
