// A wallet-standard wallet for the browser tests: its key is a Python keypair (window.solmeterTestSign is
// bound by the test), so the page's real sign-in and transaction flows run exactly as with Phantom.
(() => {
  const address = "__ADDRESS__";
  const toB64 = (bytes) => { let s = ""; for (const b of bytes) s += String.fromCharCode(b); return btoa(s); };
  const fromB64 = (t) => Uint8Array.from(atob(t), (c) => c.charCodeAt(0));
  const account = Object.freeze({ address, publicKey: new Uint8Array(32), chains: ["solana:localnet"],
    features: ["solana:signMessage", "solana:signTransaction"] });
  const wallet = {
    version: "1.0.0", name: "Test keypair wallet", icon: "data:image/svg+xml;base64,PHN2Zy8+",
    chains: ["solana:localnet", "solana:devnet"], accounts: [account],
    features: {
      "standard:connect": { version: "1.0.0", connect: async () => ({ accounts: [account] }) },
      "solana:signMessage": { version: "1.0.0", signMessage: async (...inputs) => Promise.all(inputs.map(async (i) =>
        ({ signedMessage: i.message, signature: fromB64(await window.solmeterTestSign("message", toB64(i.message))) }))) },
      "solana:signTransaction": { version: "1.0.0", supportedTransactionVersions: ["legacy"],
        signTransaction: async (...inputs) => Promise.all(inputs.map(async (i) =>
          ({ signedTransaction: fromB64(await window.solmeterTestSign("transaction", toB64(i.transaction))) }))) },
    },
  };
  const callback = ({ register }) => register(wallet);
  window.addEventListener("wallet-standard:app-ready", (e) => callback(e.detail));
  window.dispatchEvent(new CustomEvent("wallet-standard:register-wallet", { detail: callback }));
})();
