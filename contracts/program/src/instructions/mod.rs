//! One file per instruction: each parses its accounts and Borsh arguments, checks, and acts.
//! `process` is the thin dispatch on the 8-byte Anchor discriminator sha256("global:<name>")[..8].

use crate::error::Error;
use crate::sdk::account::AccountInfo;
use crate::sdk::hash::discriminator_u64 as d;
use crate::sdk::pubkey::Pubkey;

pub mod common;

pub mod claim_rewards;
pub mod close_batch;
pub mod configure_auto_top_up;
pub mod contest_slash;
pub mod deposit;
pub mod epoch_accounts;
pub mod execute_slash;
pub mod fund_epoch;
pub mod initialize;
pub mod lapse_slash;
pub mod post_batch;
pub mod prepare_settle;
pub mod propose_slash;
pub mod publish_price_book;
pub mod register_customer;
pub mod register_provider;
pub mod request_unstake;
pub mod request_withdrawal;
pub mod resolve_slash;
pub mod set_channel_limit;
pub mod set_payout;
pub mod set_treasury;
pub mod settle;
pub mod stake;
pub mod top_up;
pub mod update_config;
pub mod withdraw;
pub mod withdraw_stake;

const INITIALIZE: u64 = d(b"global:initialize");
const UPDATE_CONFIG: u64 = d(b"global:update_config");
const REGISTER_CUSTOMER: u64 = d(b"global:register_customer");
const DEPOSIT: u64 = d(b"global:deposit");
const REQUEST_WITHDRAWAL: u64 = d(b"global:request_withdrawal");
const WITHDRAW: u64 = d(b"global:withdraw");
const SET_CHANNEL_LIMIT: u64 = d(b"global:set_channel_limit");
const CONFIGURE_AUTO_TOP_UP: u64 = d(b"global:configure_auto_top_up");
const TOP_UP: u64 = d(b"global:top_up");
const REGISTER_PROVIDER: u64 = d(b"global:register_provider");
const STAKE: u64 = d(b"global:stake");
const REQUEST_UNSTAKE: u64 = d(b"global:request_unstake");
const WITHDRAW_STAKE: u64 = d(b"global:withdraw_stake");
const POST_BATCH: u64 = d(b"global:post_batch");
const SETTLE: u64 = d(b"global:settle");
const FUND_EPOCH: u64 = d(b"global:fund_epoch");
const CLAIM_REWARDS: u64 = d(b"global:claim_rewards");
const PROPOSE_SLASH: u64 = d(b"global:propose_slash");
const CONTEST_SLASH: u64 = d(b"global:contest_slash");
const RESOLVE_SLASH: u64 = d(b"global:resolve_slash");
const EXECUTE_SLASH: u64 = d(b"global:execute_slash");
const PREPARE_SETTLE: u64 = d(b"global:prepare_settle");
const LAPSE_SLASH: u64 = d(b"global:lapse_slash");
const SET_TREASURY: u64 = d(b"global:set_treasury");
const SET_PAYOUT: u64 = d(b"global:set_payout");
const CLOSE_BATCH: u64 = d(b"global:close_batch");
const PUBLISH_PRICE_BOOK: u64 = d(b"global:publish_price_book");

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> Result<(), Error> {
    if data.len() < 8 {
        return Err(Error::UnknownInstruction);
    }
    // SAFETY: at least 8 bytes.
    let disc = unsafe { core::ptr::read_unaligned(data.as_ptr() as *const u64) };
    let args = &data[8..];
    match disc {
        SETTLE => settle::process(program_id, accounts, args),
        POST_BATCH => post_batch::process(program_id, accounts, args),
        INITIALIZE => initialize::process(program_id, accounts, args),
        UPDATE_CONFIG => update_config::process(program_id, accounts, args),
        REGISTER_CUSTOMER => register_customer::process(program_id, accounts, args),
        DEPOSIT => deposit::process(program_id, accounts, args),
        REQUEST_WITHDRAWAL => request_withdrawal::process(program_id, accounts, args),
        WITHDRAW => withdraw::process(program_id, accounts, args),
        SET_CHANNEL_LIMIT => set_channel_limit::process(program_id, accounts, args),
        CONFIGURE_AUTO_TOP_UP => configure_auto_top_up::process(program_id, accounts, args),
        TOP_UP => top_up::process(program_id, accounts, args),
        REGISTER_PROVIDER => register_provider::process(program_id, accounts, args),
        STAKE => stake::process(program_id, accounts, args),
        REQUEST_UNSTAKE => request_unstake::process(program_id, accounts, args),
        WITHDRAW_STAKE => withdraw_stake::process(program_id, accounts, args),
        FUND_EPOCH => fund_epoch::process(program_id, accounts, args),
        CLAIM_REWARDS => claim_rewards::process(program_id, accounts, args),
        PROPOSE_SLASH => propose_slash::process(program_id, accounts, args),
        CONTEST_SLASH => contest_slash::process(program_id, accounts, args),
        RESOLVE_SLASH => resolve_slash::process(program_id, accounts, args),
        EXECUTE_SLASH => execute_slash::process(program_id, accounts, args),
        PREPARE_SETTLE => prepare_settle::process(program_id, accounts, args),
        LAPSE_SLASH => lapse_slash::process(program_id, accounts, args),
        SET_TREASURY => set_treasury::process(program_id, accounts, args),
        SET_PAYOUT => set_payout::process(program_id, accounts, args),
        CLOSE_BATCH => close_batch::process(program_id, accounts, args),
        PUBLISH_PRICE_BOOK => publish_price_book::process(program_id, accounts, args),
        _ => Err(Error::UnknownInstruction),
    }
}
