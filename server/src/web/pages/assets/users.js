// The users page (/bureau/users, admin): bureau users (GET/POST /users, PUT /users/:userId to
// disable or enable) and API tokens for integrations (GET/POST /tokens, DELETE /tokens/:tokenId;
// a new token is shown once).
(function () {
  'use strict';
  var b = window.bureau;
  var el = b.el;
  var usersBody = document.querySelector('#users tbody');
  var tokensBody = document.querySelector('#tokens tbody');
  var userForm = document.getElementById('user-form');
  var tokenForm = document.getElementById('token-form');
  var tokenUser = document.getElementById('t-user');

  function loadUsers() {
    return b.api('GET', '/users').then(function (r) {
      b.fill(usersBody, r.users.map(function (u) {
        var self = u.userId === b.data.userId;
        return el('tr', { dataset: { userId: u.userId } }, [
          el('td', null, u.userId),
          el('td', null, u.displayName),
          el('td', null, b.t('bureau.role.' + u.role)),
          el('td', null, u.districtIds.length ? u.districtIds.join(', ') : b.t('ui.none')),
          el('td', null, b.dash(u.centreId)),
          el('td', null, el('span', { className: 'badge ' + (u.disabled ? 'grey' : '') }, b.t(u.disabled ? 'ui.disabled' : 'ui.enabled'))),
          el('td', null, self ? null : el('button', { type: 'button', className: 'small ' + (u.disabled ? 'secondary' : 'danger') + ' toggle', dataset: { userId: u.userId, disabled: String(u.disabled) } }, b.t(u.disabled ? 'ui.enable' : 'ui.disable'))),
        ]);
      }), 7);
      var keep = tokenUser.value;
      tokenUser.textContent = '';
      r.users.filter(function (u) { return !u.disabled; }).forEach(function (u) { tokenUser.appendChild(el('option', { value: u.userId }, u.displayName + '（' + u.userId + '）')); });
      if (keep) tokenUser.value = keep;
    });
  }

  function loadTokens() {
    return b.api('GET', '/tokens').then(function (r) {
      b.fill(tokensBody, r.tokens.map(function (x) {
        return el('tr', { dataset: { tokenId: x.tokenId } }, [
          el('td', null, x.tokenId),
          el('td', null, x.userId),
          el('td', null, x.name),
          el('td', { className: 'details' }, [b.when(x.createdAt), el('br'), x.createdBy]),
          el('td', null, b.when(x.lastUsedAt)),
          el('td', null, x.revokedAt ? b.when(x.revokedAt) : b.t('ui.none')),
          el('td', null, x.revokedAt ? null : el('button', { type: 'button', className: 'small danger revoke', dataset: { tokenId: x.tokenId } }, b.t('ui.revoke'))),
        ]);
      }), 7);
    });
  }

  function load() { return Promise.all([loadUsers(), loadTokens()]).then(function () { document.body.dataset.loaded = 'true'; }).catch(b.failed); }

  usersBody.addEventListener('click', function (e) {
    var btn = e.target.closest && e.target.closest('button.toggle');
    if (!btn) return;
    var disable = btn.dataset.disabled !== 'true';
    if (disable && !window.confirm(b.t('ui.confirmDisable'))) return;
    b.api('PUT', '/users/' + encodeURIComponent(btn.dataset.userId), { disabled: disable }).then(function () { b.notice(b.t('ui.saved'), 'ok'); return load(); }).catch(b.failed);
  });
  tokensBody.addEventListener('click', function (e) {
    var btn = e.target.closest && e.target.closest('button.revoke');
    if (!btn || !window.confirm(b.t('ui.confirmRevoke'))) return;
    b.api('DELETE', '/tokens/' + encodeURIComponent(btn.dataset.tokenId)).then(function () { b.notice(b.t('ui.saved'), 'ok'); return loadTokens(); }).catch(b.failed);
  });

  userForm.addEventListener('submit', function (e) {
    e.preventDefault();
    var v = b.formData(userForm);
    var body = { userId: v.userId, displayName: v.displayName, role: v.role, password: v.password };
    if (v.role === 'analyst' && v.districtIds) body.districtIds = v.districtIds.split(/[,，\s]+/).filter(Boolean);
    if (v.role === 'manager' && v.centreId) body.centreId = v.centreId;
    b.api('POST', '/users', body).then(function () {
      userForm.reset();
      b.notice(b.t('ui.userAdded', { userId: v.userId }), 'ok');
      return load();
    }).catch(b.failed);
  });

  tokenForm.addEventListener('submit', function (e) {
    e.preventDefault();
    var v = b.formData(tokenForm);
    b.api('POST', '/tokens', { userId: v.userId, name: v.name }).then(function (r) {
      tokenForm.reset();
      var shown = document.getElementById('new-token');
      shown.hidden = false;
      shown.querySelector('.secret').textContent = r.token;
      b.notice('');
      return loadTokens();
    }).catch(b.failed);
  });

  load();
})();
