// The app side of the wallet-standard protocol (what @wallet-standard/app does), written here so that no
// third-party file ships: wallets (Phantom, Solflare, Backpack, ...) announce themselves with a
// `wallet-standard:register-wallet` event, and those that load after us answer our `app-ready` event.
const registered = new Set();
const listeners = new Set();

function register(...wallets) {
  for (const w of wallets) registered.add(w);
  for (const fn of listeners) fn();
  return () => { for (const w of wallets) registered.delete(w); for (const fn of listeners) fn(); };
}
const api = Object.freeze({ register });

window.addEventListener("wallet-standard:register-wallet", (event) => event.detail(api));
window.dispatchEvent(new CustomEvent("wallet-standard:app-ready", { detail: api }));

export function solanaWallets() {
  return [...registered].filter((w) => w.features && w.features["standard:connect"] &&
    w.features["solana:signMessage"] && (w.chains || []).some((c) => c.startsWith("solana:")));
}

export function onWalletsChanged(fn) { listeners.add(fn); }

export async function connect(wallet) {
  const { accounts } = await wallet.features["standard:connect"].connect();
  const list = accounts && accounts.length ? accounts : wallet.accounts;
  if (!list || !list.length) throw new Error(`${wallet.name} gave no account`);
  return list[0];
}

export async function signMessage(wallet, account, bytes) {
  const [out] = await wallet.features["solana:signMessage"].signMessage({ account, message: bytes });
  return out;  // { signedMessage, signature }
}

export async function signTransaction(wallet, account, bytes, chain) {
  const f = wallet.features["solana:signTransaction"];
  if (!f) throw new Error(`${wallet.name} cannot sign transactions`);
  const [out] = await f.signTransaction({ account, transaction: bytes, chain });
  return out.signedTransaction;
}

export const b64 = {
  encode(bytes) { let s = ""; for (const b of bytes) s += String.fromCharCode(b); return btoa(s); },
  decode(text) { const s = atob(text); const out = new Uint8Array(s.length); for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i); return out; },
};
