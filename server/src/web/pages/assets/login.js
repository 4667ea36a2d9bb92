// The sign-in page (/bureau/login): POST /api/v1/login, then on to `?next=` (a /bureau/ page only).
(function () {
  'use strict';
  var b = window.bureau;
  var form = document.getElementById('login-form');
  var next = new URLSearchParams(location.search).get('next');
  if (!next || next.indexOf('/bureau/') !== 0 || next.indexOf('//') !== -1 || next.indexOf('/bureau/login') === 0) next = '/bureau/';
  form.addEventListener('submit', function (e) {
    e.preventDefault();
    var v = b.formData(form);
    var button = form.querySelector('button[type=submit]');
    button.disabled = true;
    b.api('POST', '/login', { userId: v.userId, password: v.password })
      .then(function () { location.href = next; })
      .catch(function (err) {
        button.disabled = false;
        if (err.status === 401) b.notice(b.t('ui.login.wrong'), 'error');
        else if (err.status === 429) b.notice(b.t('ui.login.locked') + ' ' + err.message, 'error');
        else b.failed(err);
        document.getElementById('password').select();
      });
  });
})();
