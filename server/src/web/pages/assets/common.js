// The bureau pages' shared script (/bureau/assets/common.js), loaded before each page's own:
// window.bureau = { data, t, api, notice, el, fill, yuan, ... }. Plain browser JavaScript, no
// build step; the page's texts come from the page-data block the server renders (layout.ts).
(function () {
  'use strict';
  var dataNode = document.getElementById('page-data');
  var data = dataNode ? JSON.parse(dataNode.textContent || '{}') : {};
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute('content') : '';

  /** `t('ui.saved')`, with `{name}` placeholders filled. */
  function t(key, params) {
    var s = (data.ui && data.ui[key]) || key;
    return s.replace(/\{(\w+)\}/g, function (m, k) { return params && k in params ? String(params[k]) : m; });
  }

  /** An API error, with the HTTP status and the server's message. */
  function ApiError(status, message) {
    this.status = status;
    this.message = message;
  }

  /**
   * Calls the server's API like any client: the session cookie goes by itself, changes carry the
   * CSRF header. Resolves with the JSON answer; rejects with an ApiError. A 401 (the session
   * ended) goes back to the sign-in page.
   */
  function api(method, path, body) {
    var headers = { accept: 'application/json' };
    if (method !== 'GET') headers['x-mealcheck-csrf'] = csrf;
    if (body !== undefined) headers['content-type'] = 'application/json';
    return fetch('/api/v1' + path, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' }).then(function (res) {
      return res.text().then(function (text) {
        var json = null;
        try { json = text ? JSON.parse(text) : null; } catch { json = null; }
        if (res.status === 401 && path !== '/login') {
          location.href = '/bureau/login?next=' + encodeURIComponent(location.pathname + location.search);
        }
        if (!res.ok) throw new ApiError(res.status, (json && json.message) || res.statusText);
        return json;
      });
    });
  }

  /** GET that answers null instead of failing when the route is not there (404) or refuses the query (400). */
  function optional(path) {
    return api('GET', path).catch(function (err) {
      if (err instanceof ApiError && (err.status === 404 || err.status === 400)) return null;
      throw err;
    });
  }

  var noticeEl = document.getElementById('notice');
  /** The message at the top of the page: kind `ok`, `error` or `info`; no text hides it. */
  function notice(text, kind) {
    if (!noticeEl) return;
    noticeEl.hidden = !text;
    noticeEl.textContent = text || '';
    noticeEl.className = 'notice' + (kind ? ' ' + kind : '');
    noticeEl.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  }
  function failed(err) {
    notice(t('ui.error', { message: err && err.message ? err.message : String(err) }), 'error');
  }

  /** `el('td', { className: 'num' }, '3')`: an element with properties and children (strings become text). */
  function el(tag, props, children) {
    var e = document.createElement(tag);
    if (props) {
      Object.keys(props).forEach(function (k) {
        if (k === 'dataset') Object.keys(props.dataset).forEach(function (d) { e.dataset[d] = props.dataset[d]; });
        else if (k.indexOf('aria-') === 0) e.setAttribute(k, props[k]);
        else e[k] = props[k];
      });
    }
    [].concat(children === undefined ? [] : children).forEach(function (c) {
      if (c === null || c === undefined || c === false) return;
      e.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
    });
    return e;
  }
  /** Replaces a tbody's rows; none: one row saying so. */
  function fill(tbody, rows, columns) {
    tbody.textContent = '';
    if (!rows.length) {
      tbody.appendChild(el('tr', { className: 'empty' }, el('td', { colSpan: columns }, t('ui.empty'))));
      return;
    }
    rows.forEach(function (r) { tbody.appendChild(r); });
  }
  function yuan(fen) { return (fen / 100).toFixed(2); }
  function dash(v) { return v === null || v === undefined || v === '' ? t('ui.none') : String(v); }
  /** An ISO time as local date and minute (YYYY-MM-DD HH:MM). */
  function when(iso) {
    if (!iso) return t('ui.none');
    var d = new Date(iso);
    if (isNaN(d.getTime())) return iso;
    function p(n) { return n < 10 ? '0' + n : String(n); }
    return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + ' ' + p(d.getHours()) + ':' + p(d.getMinutes());
  }
  function formData(form) {
    var out = {};
    new FormData(form).forEach(function (v, k) { out[k] = typeof v === 'string' ? v.trim() : v; });
    return out;
  }

  /** Every centre the caller may see: those with settings, with boxes and with meals (all filtered by the server). */
  function centres(extraIds) {
    return Promise.all([api('GET', '/centres'), api('GET', '/devices').catch(function () { return { devices: [] }; })]).then(function (r) {
      var byId = {};
      r[0].centres.forEach(function (c) { byId[c.centreId] = { centreId: c.centreId, name: c.name, districtId: c.districtId }; });
      r[1].devices.forEach(function (d) { if (!byId[d.centreId]) byId[d.centreId] = { centreId: d.centreId, name: null, districtId: null }; });
      (extraIds || []).forEach(function (id) { if (!byId[id]) byId[id] = { centreId: id, name: null, districtId: null }; });
      return Object.keys(byId).sort().map(function (id) { return byId[id]; });
    });
  }
  /** Fills a centre <select> (name and id), keeping `?centreId=` of the address when it is one of them. */
  function centreSelect(select, list) {
    select.textContent = '';
    list.forEach(function (c) { select.appendChild(el('option', { value: c.centreId }, c.name ? c.name + '（' + c.centreId + '）' : c.centreId)); });
    var asked = new URLSearchParams(location.search).get('centreId');
    if (asked && list.some(function (c) { return c.centreId === asked; })) select.value = asked;
  }

  var logout = document.getElementById('logout');
  if (logout) {
    logout.addEventListener('click', function () {
      api('POST', '/logout').catch(function () { return null; }).then(function () { location.href = '/bureau/login?out=1'; });
    });
  }
  // data-confirm on a button asks first; data-print prints the page.
  document.addEventListener('click', function (e) {
    var b = e.target && e.target.closest ? e.target.closest('[data-print]') : null;
    if (b) window.print();
  });

  window.bureau = { data: data, t: t, api: api, optional: optional, ApiError: ApiError, notice: notice, failed: failed, el: el, fill: fill, yuan: yuan, dash: dash, when: when, formData: formData, centres: centres, centreSelect: centreSelect };
})();
