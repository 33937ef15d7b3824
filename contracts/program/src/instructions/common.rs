//! Checks and steps shared by several instructions.

use crate::error::Error;
use crate::pda::{self, load_pda, load_pda_mut, Seeded};
use crate::sdk::account::{init, require_key, require_signer, require_uninitialized, require_writable, AccountInfo, State};
use crate::sdk::clock::unix_timestamp;
use crate::sdk::cpi::SignerSeed;
use crate::sdk::pubkey::{keq, Pubkey, SYSTEM_PROGRAM_ID, TOKEN_PROGRAM_ID};
use crate::sdk::system::CreateAccount;
use crate::sdk::token::{InitializeAccount3, TokenAccount, TransferChecked, TOKEN_ACCOUNT_LEN};
use crate::state::{Channel, Config, Customer, Provider, Slash};

/// The Config account, checked (owner, type, address = ["config", its bump]) and not paused.
#[inline(always)]
pub fn active_config(a: &AccountInfo, program_id: &Pubkey) -> Result<&'static mut Config, Error> {
    let cfg = load_pda::<Config>(a, program_id)?;
    if cfg.paused != 0 {
        return Err(Error::Paused);
    }
    Ok(cfg)
}

/// `active_config`, writable (instructions that change the Config).
#[inline(always)]
pub fn active_config_mut(a: &AccountInfo, program_id: &Pubkey) -> Result<&'static mut Config, Error> {
    require_writable(a)?;
    active_config(a, program_id)
}

/// Opening checks of an admin instruction: the admin signs, the Config is active and writable, and
/// the signer is its admin.
#[inline(always)]
pub fn admin_config(admin: &AccountInfo, config: &AccountInfo, program_id: &Pubkey) -> Result<&'static mut Config, Error> {
    require_signer(admin)?;
    let cfg = active_config_mut(config, program_id)?;
    require_key(admin, &cfg.admin, Error::Unauthorized)?;
    Ok(cfg)
}

/// Opening checks of an instruction a wallet signs: the signature, then the active Config.
#[inline(always)]
pub fn signed_config(wallet: &AccountInfo, config: &AccountInfo, program_id: &Pubkey) -> Result<&'static mut Config, Error> {
    require_signer(wallet)?;
    active_config(config, program_id)
}

/// Opening checks of an instruction that creates accounts: the payer (writable signer), the active
/// Config, the System program.
#[inline(always)]
pub fn creation_config(
    payer: &AccountInfo,
    config: &AccountInfo,
    system_program: &AccountInfo,
    program_id: &Pubkey,
) -> Result<&'static mut Config, Error> {
    require_payer(payer)?;
    let cfg = active_config(config, program_id)?;
    require_system_program(system_program)?;
    Ok(cfg)
}

/// Signer seeds of the Config PDA, the token authority of every vault.
#[inline(always)]
pub fn config_seeds(bump: &[u8; 1]) -> [SignerSeed; 2] {
    [SignerSeed::of(pda::CONFIG), SignerSeed::of(bump)]
}

#[inline(always)]
pub fn now() -> i64 {
    unix_timestamp()
}

/// Epoch number of `now`: (now - genesis_ts) / epoch_length, in unsigned arithmetic (BPF has no
/// signed division).
#[inline(always)]
pub fn epoch_at(cfg: &Config, now: i64) -> Result<u64, Error> {
    let genesis = cfg.genesis_ts.get();
    let len = cfg.epoch_length.get();
    if now < genesis || len <= 0 {
        return Err(Error::ClockBeforeGenesis);
    }
    let elapsed = (now as u64).wrapping_sub(genesis as u64);
    Ok(elapsed / (len as u64))
}

/// `base + delta` seconds, checked.
#[inline(always)]
pub fn after(base: i64, delta: i64) -> Result<i64, Error> {
    base.checked_add(delta).ok_or(Error::ArithmeticOverflow)
}

#[inline(always)]
pub fn require_system_program(a: &AccountInfo) -> Result<(), Error> {
    if keq(a.key(), &SYSTEM_PROGRAM_ID) {
        Ok(())
    } else {
        Err(Error::WrongProgram)
    }
}

/// The payer of account creations: a writable signer.
#[inline(always)]
pub fn require_payer(a: &AccountInfo) -> Result<(), Error> {
    if !a.is_signer() {
        return Err(Error::MissingSignature);
    }
    require_writable(a)
}

/// Create a program-owned state account at a PDA whose address was already checked, and write its
/// discriminator. The rent-exempt lamports come from `payer`. Inlined: as a call it would take six
/// BPF argument registers (a slice counts two, plus the return slot) and BPF passes at most five.
#[inline(always)]
pub fn create_state<T: State>(
    payer: &AccountInfo,
    a: &AccountInfo,
    seeds: &[SignerSeed],
    program_id: &Pubkey,
) -> Result<&'static mut T, Error> {
    require_uninitialized(a)?;
    CreateAccount { payer, new_account: a, space: T::LEN, owner: program_id, seeds }.invoke()?;
    init::<T>(a)
}

/// Where a state account may be created on demand: whether it was created now.
#[inline(always)]
pub fn is_uncreated(a: &AccountInfo) -> bool {
    a.data_len() == 0 && keq(a.owner(), &SYSTEM_PROGRAM_ID)
}

/// What register_customer / register_provider create for a wallet: its state account at
/// [prefix, wallet] and its vault at [vault_prefix, wallet].
pub struct Registration<'a> {
    pub account: &'a AccountInfo,
    pub prefix: &'a [u8],
    pub bump: u8,
    pub vault: &'a AccountInfo,
    pub vault_prefix: &'a [u8],
    pub vault_bump: u8,
}

/// Check both addresses and create the state account (returned for the caller to fill in) and the
/// vault: a token account of `mint` whose token authority is the Config PDA. `wallet` pays.
#[inline(always)]
pub fn register<T: State>(
    wallet: &AccountInfo,
    config: &AccountInfo,
    mint: &AccountInfo,
    r: &Registration,
    program_id: &Pubkey,
) -> Result<&'static mut T, Error> {
    require_writable(r.account)?;
    require_writable(r.vault)?;
    require_uninitialized(r.vault)?;
    pda::of_wallet(r.prefix, r.account.key(), wallet.key(), r.bump, program_id)?;
    pda::of_wallet(r.vault_prefix, r.vault.key(), wallet.key(), r.vault_bump, program_id)?;

    let b = [r.bump];
    let seeds = [SignerSeed::of(r.prefix), SignerSeed::of(wallet.key()), SignerSeed::of(&b)];
    let state = create_state::<T>(wallet, r.account, &seeds, program_id)?;
    let vb = [r.vault_bump];
    let vseeds = [SignerSeed::of(r.vault_prefix), SignerSeed::of(wallet.key()), SignerSeed::of(&vb)];
    CreateAccount { payer: wallet, new_account: r.vault, space: TOKEN_ACCOUNT_LEN, owner: &TOKEN_PROGRAM_ID, seeds: &vseeds }
        .invoke()?;
    InitializeAccount3 { account: r.vault, mint, owner: config.key() }.invoke()?;
    Ok(state)
}

/// A Customer or Provider: the state account of one wallet.
pub trait WalletAccount: State + Seeded {
    fn wallet(&self) -> &Pubkey;
}

impl WalletAccount for Customer {
    #[inline(always)]
    fn wallet(&self) -> &Pubkey {
        &self.wallet
    }
}

impl WalletAccount for Provider {
    #[inline(always)]
    fn wallet(&self) -> &Pubkey {
        &self.wallet
    }
}

/// `a`, loaded writable, as the Customer/Provider of `wallet` (whose signature was checked).
#[inline(always)]
pub fn own_account_mut<T: WalletAccount>(wallet: &AccountInfo, a: &AccountInfo, program_id: &Pubkey) -> Result<&'static mut T, Error> {
    require_writable(a)?;
    own_account::<T>(wallet, a, program_id)
}

/// `a` as the Customer/Provider of `wallet` (whose signature was checked), at its PDA.
#[inline(always)]
pub fn own_account<T: WalletAccount>(wallet: &AccountInfo, a: &AccountInfo, program_id: &Pubkey) -> Result<&'static mut T, Error> {
    let x = load_pda::<T>(a, program_id)?;
    require_key(wallet, x.wallet(), Error::Unauthorized)?;
    Ok(x)
}

/// The Channel of (customer, provider), which the customer opened (set_channel_limit): at its PDA and
/// of this pair. Missing: ChannelNotOpened, so nothing is billed on a pair without the customer's
/// consent; any other account of the pair's address would not be a Channel of this program.
#[inline(never)]
pub fn opened_channel(channel: &AccountInfo, customer: &Pubkey, provider: &Pubkey, program_id: &Pubkey) -> Result<&'static mut Channel, Error> {
    if is_uncreated(channel) {
        return Err(Error::ChannelNotOpened);
    }
    let ch = load_pda_mut::<Channel>(channel, program_id)?;
    if !keq(&ch.customer, customer) || !keq(&ch.provider, provider) {
        return Err(Error::ReceiptChannelMismatch);
    }
    Ok(ch)
}

/// A Provider and one of its Slashes, both writable and at their PDAs (WrongPda when the slash is
/// another provider's).
#[inline(always)]
pub fn provider_slash(provider: &AccountInfo, slash: &AccountInfo, program_id: &Pubkey) -> Result<(&'static mut Provider, &'static mut Slash), Error> {
    let p = load_pda_mut::<Provider>(provider, program_id)?;
    let s = load_pda_mut::<Slash>(slash, program_id)?;
    if !keq(&s.provider, &p.wallet) {
        return Err(Error::WrongPda);
    }
    Ok((p, s))
}

/// Stake in the provider's vault that no pending slash reserves (the caller has checked that
/// `stake_vault` is p.stake_vault).
#[inline(always)]
pub fn unencumbered_stake(stake_vault: &AccountInfo, p: &Provider) -> Result<u64, Error> {
    let staked = TokenAccount::load(stake_vault)?.amount();
    let pending = p.pending_slash.get();
    Ok(if staked > pending { staked - pending } else { 0 })
}

/// A token account of the configured mint that may receive fees: anyone's, but not one of the
/// program's own vaults (token authority = the Config PDA), whose balances the program accounts for.
#[inline(always)]
pub fn require_treasury(treasury: &AccountInfo, mint: &Pubkey, config: &Pubkey) -> Result<(), Error> {
    let t = TokenAccount::load(treasury)?;
    if !keq(t.mint(), mint) {
        return Err(Error::WrongMint);
    }
    if keq(t.owner(), config) {
        return Err(Error::WrongTokenAccount);
    }
    Ok(())
}

/// A vault an instruction moves tokens in or out of: the one the account records (`expected`),
/// writable, and the mint account is the Config's.
#[inline(always)]
pub fn require_vault(vault: &AccountInfo, expected: &Pubkey, mint: &AccountInfo, cfg: &Config) -> Result<(), Error> {
    require_key(vault, expected, Error::WrongTokenAccount)?;
    require_writable(vault)?;
    require_key(mint, &cfg.mint, Error::WrongMint)
}

#[inline(always)]
pub fn require_nonzero(amount: u64) -> Result<(), Error> {
    if amount == 0 {
        return Err(Error::ZeroAmount);
    }
    Ok(())
}

/// Move `amount` (non-zero) from a token account of the signer `wallet` into `vault`.
#[inline(always)]
pub fn transfer_in(
    wallet: &AccountInfo,
    source: &AccountInfo,
    mint: &AccountInfo,
    vault: &AccountInfo,
    amount: u64,
    cfg: &Config,
) -> Result<(), Error> {
    require_nonzero(amount)?;
    TransferChecked { from: source, mint, to: vault, authority: wallet, amount, decimals: cfg.decimals }.invoke(&[])
}

/// Move `amount` out of `from`, signed by the Config PDA: the token authority of every vault, and
/// the delegate of an auto top-up source.
#[inline(always)]
pub fn transfer_out(
    config: &AccountInfo,
    from: &AccountInfo,
    mint: &AccountInfo,
    to: &AccountInfo,
    amount: u64,
    cfg: &Config,
) -> Result<(), Error> {
    let bump = [cfg.bump];
    TransferChecked { from, mint, to, authority: config, amount, decimals: cfg.decimals }.invoke(&config_seeds(&bump))
}
