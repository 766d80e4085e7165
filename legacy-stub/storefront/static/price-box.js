/* global window, document, fetch */
/*
 * The product price box, as Magento's storefront renders it in the browser: the page carries a
 * server-rendered price (the no-JS fallback); this script asks the final-price REST endpoint for the
 * shopper's customer group and replaces the figures. Whichever service answers
 * /rest/V1/products/<sku>/final-price — the legacy shop or the extracted pricing service behind the
 * strangler proxy — is therefore what a shopper sees.
 *
 * Plain ES2017, no build step. Money is rounded half-up to the cent on the number's decimal text,
 * exactly as the server's fallback rounds it (legacy-stub/storefront/price-display.ts).
 */
(function () {
  'use strict';

  function toCents(value) {
    var text = typeof value === 'number' ? (/e/i.test(String(value)) ? value.toFixed(10) : String(value)) : String(value);
    var match = /^(-)?(\d+)(?:\.(\d+))?$/.exec(text);
    if (!match) return null;
    var fraction = (match[3] || '') + '000';
    var cents = Number(match[2]) * 100 + Number(fraction.slice(0, 2)) + (Number(fraction[2]) >= 5 ? 1 : 0);
    return match[1] ? -cents : cents;
  }

  function formatPrice(value) {
    var cents = toCents(value);
    if (cents === null) return null;
    var magnitude = Math.abs(cents);
    var dollars = String(Math.floor(magnitude / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    var rest = String(magnitude % 100);
    return (cents < 0 ? '-' : '') + '$' + dollars + '.' + (rest.length < 2 ? '0' + rest : rest);
  }

  function finalPriceUrl(box) {
    return '/rest/V1/products/' + encodeURIComponent(box.getAttribute('data-sku')) +
      '/final-price?customerGroupId=' + encodeURIComponent(box.getAttribute('data-customer-group-id') || '0') +
      '&qty=' + encodeURIComponent(box.getAttribute('data-qty') || '1');
  }

  function render(box, answer) {
    var finalText = formatPrice(answer.final_price);
    var regularText = formatPrice(answer.regular_price);
    if (finalText === null || regularText === null) throw new Error('unexpected final-price answer');
    box.querySelector('[data-price-type="finalPrice"]').textContent = finalText;
    var old = box.querySelector('[data-price-type="oldPrice"]');
    if (old) {
      old.querySelector('.price').textContent = regularText;
      old.hidden = !(toCents(answer.final_price) < toCents(answer.regular_price));
    }
    box.setAttribute('data-price-source', 'rest');
  }

  function refresh(box) {
    return fetch(finalPriceUrl(box), { headers: { Accept: 'application/json' }, credentials: 'same-origin' })
      .then(function (response) {
        if (!response.ok) throw new Error('final-price answered ' + response.status);
        return response.json();
      })
      .then(function (answer) { render(box, answer); })
      .catch(function () {
        // Keep the server's figures: a shopper never sees an empty price box.
        box.setAttribute('data-price-source', 'fallback');
      });
  }

  function refreshAll() {
    var boxes = document.querySelectorAll('[data-role="price-box"][data-sku]');
    return Promise.all(Array.prototype.map.call(boxes, refresh));
  }

  var ready = document.readyState === 'loading'
    ? new Promise(function (resolve) {
      document.addEventListener('DOMContentLoaded', function () { resolve(refreshAll()); });
    })
    : refreshAll();
  // `ready` settles once every box on the page has its REST figures (or kept its fallback).
  window.priceBoxes = { refreshAll: refreshAll, formatPrice: formatPrice, ready: ready };
})();
