// The registry page (/bureau/registry): a centre's elders with their effective status and
// category (GET /centres/:centreId/elders), and for the admin the bureau's decision on one:
// confirm the category, suspend, reactivate, deceased or moved from a date
// (POST /centres/:centreId/elders/:elderId/decisions), which goes down to the centre's boxes.
(function () {
  'use strict';
  var b = window.bureau;
  var el = b.el;
  var centre = document.getElementById('centre');
  var status = document.getElementById('status');
  var tbody = document.querySelector('#elders tbody');
  var form = document.getElementById('decision-form');
  var canDecide = b.data.role === 'admin';
  var current = null;

  function badge(s) {
    var kind = s === 'active' ? '' : s === 'suspended' ? 'warn' : s ? 'bad' : 'grey';
    return el('span', { className: 'badge ' + kind }, b.t('ui.status.' + (s || 'none')));
  }

  function load() {
    if (!centre.value) { b.fill(tbody, [], 8); return Promise.resolve(); }
    var q = '/centres/' + encodeURIComponent(centre.value) + '/elders?limit=500' + (status.value ? '&status=' + status.value : '');
    return b.api('GET', q).then(function (r) {
      b.fill(tbody, r.elders.map(function (e) {
        var dec = e.decision;
        return el('tr', { dataset: { elderId: e.elderId, status: e.status || '' } }, [
          el('td', null, e.elderId),
          el('td', null, b.dash(e.name)),
          el('td', null, b.dash(e.idNumber)),
          el('td', null, b.dash(e.category)),
          el('td', { className: 'status' }, badge(e.status)),
          el('td', null, b.t('ui.source.' + e.statusSource)),
          el('td', { className: 'details' }, dec ? [b.t('ui.status.' + dec.status) + ' · ' + dec.effectiveOn, el('br'), dec.reason + ' · ' + dec.decidedBy] : b.t('ui.none')),
          el('td', null, canDecide ? el('button', { type: 'button', className: 'small secondary decide', dataset: { elderId: e.elderId, name: e.name || e.elderId, category: e.category || '' } }, b.t('ui.decide')) : null),
        ]);
      }), 8);
      document.getElementById('elder-count').textContent = b.t('ui.elderCount', { total: r.total, shown: r.elders.length });
      document.body.dataset.loaded = 'true';
    }).catch(b.failed);
  }

  function openForm(btn) {
    current = { elderId: btn.dataset.elderId, name: btn.dataset.name };
    document.getElementById('d-elder').textContent = current.name + '（' + current.elderId + '）';
    form.reset();
    document.getElementById('d-date').value = b.data.today;
    form.closest('section').hidden = false;
    document.getElementById('d-status').focus();
  }

  if (canDecide) {
    tbody.addEventListener('click', function (e) {
      var btn = e.target.closest && e.target.closest('button.decide');
      if (btn) openForm(btn);
    });
    document.getElementById('d-cancel').addEventListener('click', function () { form.closest('section').hidden = true; });
    b.api('GET', '/categories').then(function (r) {
      var sel = document.getElementById('d-category');
      r.categories.forEach(function (c) { sel.appendChild(el('option', { value: c.name }, c.name)); });
    }).catch(b.failed);
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var v = b.formData(form);
      var body = { status: v.status, effectiveOn: v.effectiveOn, reason: v.reason };
      if (v.category) body.category = v.category;
      b.api('POST', '/centres/' + encodeURIComponent(centre.value) + '/elders/' + encodeURIComponent(current.elderId) + '/decisions', body).then(function () {
        form.closest('section').hidden = true;
        b.notice(b.t('ui.decided', { name: current.name, status: b.t('ui.status.' + v.status), date: v.effectiveOn }), 'ok');
        return load();
      }).catch(b.failed);
    });
  }

  centre.addEventListener('change', function () { b.notice(''); load(); });
  status.addEventListener('change', load);
  b.centres().then(function (list) { b.centreSelect(centre, list); return load(); }).catch(b.failed);
})();
