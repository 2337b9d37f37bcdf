// The emulator's console: the little script it needs, no dependencies.
// - Action forms (form.action[data-api]) send their fields as JSON to the admin API and
//   reload the page when it succeeds; the admin guard takes the console's cookie.
// - Forms with data-autosubmit go when a select changes.
// - The CDN URL builder (section[data-builder]) previews operations as they are typed.
'use strict';

function formJson(form, submitter) {
  const body = {};
  for (const el of form.elements) {
    if (!el.name || el.disabled || el.type === 'submit') continue;
    if (el.type === 'checkbox') { body[el.name] = el.checked; continue; }
    if (el.value === '') continue;
    body[el.name] = el.type === 'number' ? Number(el.value) : el.value;
  }
  if (submitter && submitter.name) {
    body[submitter.name] = submitter.type === 'submit' && /^\d+$/.test(submitter.value)
      ? Number(submitter.value) : submitter.value;
  }
  return body;
}

document.addEventListener('submit', async (event) => {
  const form = event.target;
  if (!form.matches('form.action[data-api]')) return;
  event.preventDefault();
  if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
  const out = form.querySelector('output');
  const body = formJson(form, event.submitter);
  const init = { method: form.dataset.method || 'POST', credentials: 'same-origin', headers: {} };
  if (Object.keys(body).length) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  for (const b of form.querySelectorAll('button')) b.disabled = true;
  out.className = '';
  out.textContent = 'Working…';
  try {
    const r = await fetch(form.dataset.api, init);
    if (r.ok) {
      out.textContent = `Done (${r.status}).`;
      window.location.reload();
      return;
    }
    let text = await r.text();
    try { text = JSON.parse(text).detail ?? text; } catch { /* not JSON */ }
    out.className = 'error';
    out.textContent = `${r.status}: ${text}`;
  } catch (e) {
    out.className = 'error';
    out.textContent = String(e);
  }
  for (const b of form.querySelectorAll('button')) b.disabled = false;
});

document.addEventListener('change', (event) => {
  const form = event.target.form;
  if (form && form.hasAttribute('data-autosubmit') && event.target.tagName === 'SELECT') form.submit();
});

for (const builder of document.querySelectorAll('[data-builder]')) {
  const base = builder.dataset.base;
  const input = builder.querySelector('[data-ops]');
  const link = builder.querySelector('[data-url]');
  const img = builder.querySelector('[data-preview]');
  const status = builder.querySelector('[data-status]');
  let timer = 0;
  const url = () => {
    const ops = input.value.trim().replace(/^\/+|\/+$/g, '').replace(/^-\//, '');
    return ops ? `${base}-/${ops}/` : base;
  };
  const show = () => {
    const u = url();
    link.href = u;
    link.firstElementChild.textContent = u;
    status.textContent = 'Loading…';
    img.src = u;
  };
  img.addEventListener('load', () => {
    status.textContent = `${img.naturalWidth}×${img.naturalHeight}`;
  });
  img.addEventListener('error', async () => {
    try {
      const r = await fetch(img.src);
      status.textContent = `${r.status}: ${(await r.text()).slice(0, 300)}`;
    } catch (e) {
      status.textContent = String(e);
    }
  });
  input.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(show, 250); });
  for (const b of builder.querySelectorAll('[data-op]')) {
    b.addEventListener('click', () => {
      const ops = input.value.trim().replace(/\/+$/, '');
      input.value = `${ops ? `${ops}/-/` : ''}${b.dataset.op}`;
      show();
    });
  }
  builder.querySelector('[data-reset]').addEventListener('click', () => { input.value = ''; show(); });
  show();
}
