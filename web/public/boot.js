// Apply the remembered theme and language before the first paint (no flash).
(function () {
  try {
    var t = localStorage.getItem('apg.theme');
    var dark = t === 'dark' || (t !== 'light' && window.matchMedia('(prefers-color-scheme: dark)').matches);
    document.documentElement.dataset.theme = dark ? 'dark' : 'light';
    var l = localStorage.getItem('apg.lang');
    if (!l) l = /^zh/i.test(navigator.language || '') ? 'zh-CN' : 'en';
    document.documentElement.lang = l;
  } catch (e) {}
})();
