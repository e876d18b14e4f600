/**
 * The checkout page's script: reads a picked manifest file into the form and shows the manifest hash and
 * the price as the tenant types. The page works without it (the form posts as it is).
 */
export const CHECKOUT_JS = `'use strict';
(() => {
  const form = document.getElementById('checkout');
  const output = document.getElementById('quote');
  const file = document.getElementById('manifest-file');
  if (!form || !output) return;
  let timer;
  let asked = 0;
  async function update() {
    const id = ++asked;
    const body = new URLSearchParams(new FormData(form));
    body.delete('wallet');
    try {
      const response = await fetch('/deploy/quote', { method: 'POST', body });
      const answer = await response.json();
      if (id !== asked) return;
      if (!response.ok) {
        output.textContent = answer.message;
        return;
      }
      const hash = answer.manifestHash ? 'Manifest hash ' + answer.manifestHash + '. ' : '';
      const names = { 'open-payments': 'from your wallet', stream: 'over STREAM with the Codius CLI' };
      const prices = answer.prices.map((p) => p.amount + ' ' + p.assetCode + ' ' + (names[p.method] || p.method));
      output.textContent = hash + 'Price: ' + prices.join('; ') + '.';
    } catch {
      if (id === asked) output.textContent = '';
    }
  }
  const later = () => {
    clearTimeout(timer);
    timer = setTimeout(update, 250);
  };
  form.addEventListener('input', later);
  if (file) {
    file.addEventListener('change', async () => {
      const picked = file.files && file.files[0];
      if (!picked) return;
      form.elements.manifest.value = await picked.text();
      later();
    });
  }
  update();
})();
`;

export const CHECKOUT_CSS = `body { font: 16px/1.5 system-ui, sans-serif; margin: 0; color: #1b1b1b; background: #fafafa; }
main { max-width: 46rem; margin: 2rem auto; padding: 0 1rem; }
label { display: block; font-weight: 600; }
label.inline { display: inline; }
textarea, input[type='text'], input[type='number'] { width: 100%; box-sizing: border-box; font: inherit; padding: 0.4rem; }
textarea { font-family: ui-monospace, monospace; font-size: 14px; }
small { color: #555; }
button { font: inherit; padding: 0.5rem 1.2rem; background: #1a56db; color: #fff; border: 0; border-radius: 4px; cursor: pointer; }
button:focus-visible, a:focus-visible, input:focus-visible, textarea:focus-visible { outline: 3px solid #f59e0b; outline-offset: 2px; }
#problem { background: #fde8e8; border-left: 4px solid #c81e1e; padding: 0.6rem 0.8rem; }
#quote { display: block; min-height: 1.5em; font-family: ui-monospace, monospace; font-size: 14px; overflow-wrap: anywhere; }
table { border-collapse: collapse; margin: 1rem 0; }
caption { text-align: left; font-weight: 600; }
th, td { text-align: left; padding: 0.2rem 1rem 0.2rem 0; }
dt { font-weight: 600; }
dd { margin: 0 0 0.6rem; overflow-wrap: anywhere; }
`;
