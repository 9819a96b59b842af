/*
 * Passkey ceremonies for the second factor (CSP: loaded with <script src>, no inline code).
 * Uses @simplewebauthn/browser (static/vendor/simplewebauthn-browser.min.js). The server
 * keeps the challenge in the session; every POST carries the page's CSRF token.
 */
(function () {
  'use strict';
  var webauthn = window.SimpleWebAuthnBrowser;
  var supported = !!(webauthn && webauthn.browserSupportsWebAuthn());

  function postJson(url, csrf, body) {
    return fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': csrf },
      body: JSON.stringify(body || {}),
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) {
        if (!res.ok) throw new Error(data.message || 'The request failed (' + res.status + ').');
        return data;
      });
    });
  }

  /** A text from the box's data-msg-* attributes (the page's language), else the English default. */
  function text(box, key, fallback) {
    return (box && box.getAttribute('data-msg-' + key)) || fallback;
  }

  function say(box, text) {
    var status = box.querySelector('[data-passkey-status]');
    if (status) status.textContent = text;
  }

  /** The browser's own errors (cancelled, timed out) in words a person can act on. */
  function explain(box, error) {
    if (error && error.name === 'NotAllowedError') return text(box, 'cancelled', 'The passkey request was cancelled or timed out. Try again.');
    if (error && error.name === 'InvalidStateError') return text(box, 'duplicate', 'This passkey is already registered.');
    return (error && error.message) || text(box, 'failed', 'That did not work. Try again.');
  }

  function register(form) {
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      var name = form.querySelector('input[name="name"]').value.trim();
      var button = form.querySelector('button[type="submit"]');
      if (!name) return say(form, text(form, 'name-first', 'Give the passkey a name first.'));
      button.disabled = true;
      say(form, text(form, 'follow', 'Follow your browser’s prompt to create the passkey…'));
      postJson(form.dataset.optionsUrl, form.dataset.csrf)
        .then(function (options) { return webauthn.startRegistration({ optionsJSON: options }); })
        .then(function (response) { return postJson(form.dataset.verifyUrl, form.dataset.csrf, { name: name, response: response }); })
        .then(function (result) {
          say(form, text(form, 'added', 'Passkey added.'));
          window.location.assign(result.redirect);
        })
        .catch(function (error) {
          say(form, explain(form, error));
          button.disabled = false;
        });
    });
  }

  function signIn(box) {
    var button = box.querySelector('[data-passkey-start]');
    button.addEventListener('click', function () {
      button.disabled = true;
      say(box, text(box, 'follow', 'Follow your browser’s prompt to use your passkey…'));
      postJson(box.dataset.optionsUrl, box.dataset.csrf)
        .then(function (options) { return webauthn.startAuthentication({ optionsJSON: options }); })
        .then(function (response) { return postJson(box.dataset.verifyUrl, box.dataset.csrf, { response: response }); })
        .then(function (result) { window.location.assign(result.redirect); })
        .catch(function (error) {
          say(box, explain(box, error));
          button.disabled = false;
        });
    });
  }

  function init() {
    if (!supported) return;
    Array.prototype.forEach.call(document.querySelectorAll('[data-passkey-unsupported]'), function (note) { note.hidden = true; });
    Array.prototype.forEach.call(document.querySelectorAll('[data-passkey-register]'), function (form) {
      form.hidden = false;
      register(form);
    });
    Array.prototype.forEach.call(document.querySelectorAll('[data-passkey-signin]'), function (box) {
      box.hidden = false;
      signIn(box);
    });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
