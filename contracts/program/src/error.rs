//! Every error the program returns, numbered from 6000 as Anchor numbers custom errors. The doc line
//! of each variant is its message: the IDL generator (contracts/idl/generate.py) reads this file.
//! `Error::message` returns the variant name, which the entrypoint logs on failure (short strings
//! keep rodata small; the full message is in the IDL).

#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Error {
    /// The instruction discriminator is not one of this program's instructions
    UnknownInstruction = 6000,
    /// The instruction data does not deserialize into the instruction's arguments
    InvalidInstructionData = 6001,
    /// The instruction needs more accounts than were passed
    NotEnoughAccounts = 6002,
    /// A required signer did not sign the transaction
    MissingSignature = 6003,
    /// An account the instruction writes was not passed as writable
    NotWritable = 6004,
    /// An account is owned by the wrong program
    WrongOwner = 6005,
    /// An account is not of the expected type (size or discriminator differs)
    WrongAccountType = 6006,
    /// An account address does not match its PDA seeds and bump
    WrongPda = 6007,
    /// The account is already initialized
    AlreadyInitialized = 6008,
    /// The system or token program account is not the expected program
    WrongProgram = 6009,
    /// A mint or token account is not of the configured mint
    WrongMint = 6010,
    /// A token account is not the registered one or not owned by the expected authority
    WrongTokenAccount = 6011,
    /// The signer is not the authority for this account
    Unauthorized = 6012,
    /// The program is paused: only update_config that unpauses (and contest_slash) is accepted
    Paused = 6013,
    /// fee_bps + burn_bps exceeds the bound of 2000 basis points
    FeeTooHigh = 6014,
    /// A delay, window, retention or length is out of range (60 s to 365 days; see PROTOCOL.md Parameters)
    InvalidConfig = 6015,
    /// The config already holds the maximum number of meter keys
    MeterListFull = 6016,
    /// The signer is not a registered meter key
    NotAMeter = 6017,
    /// An arithmetic operation overflowed
    ArithmeticOverflow = 6018,
    /// The amount must be greater than zero
    ZeroAmount = 6019,
    /// A CPI into the system or token program failed
    CpiFailed = 6020,
    /// The receipt bytes are not a valid solmeter v1 receipt encoding
    BadReceipt = 6021,
    /// The receipt names another program id
    ReceiptProgramMismatch = 6022,
    /// The receipt's config version differs from the config version of its batch
    ReceiptConfigVersion = 6023,
    /// The receipt belongs to another channel (customer or provider differs)
    ReceiptChannelMismatch = 6024,
    /// The Merkle proof does not lead from the receipt to the batch root
    InvalidProof = 6025,
    /// The receipt's seq is not above the channel's last settled seq (replay)
    ReplayedReceipt = 6026,
    /// The receipt's cumulative amount is not above the channel's settled amount
    CumulativeNotIncreasing = 6027,
    /// Settling would exceed the customer's spending limit for this channel and epoch
    ChannelLimitExceeded = 6028,
    /// The escrow vault cannot pay the settlement in full
    EscrowUnderfunded = 6029,
    /// The receipt's prev_receipt_id does not match the last settled receipt of the channel
    BrokenHashChain = 6030,
    /// No withdrawal was requested
    WithdrawalNotRequested = 6031,
    /// The withdrawal delay has not elapsed since the request
    WithdrawalDelayNotElapsed = 6032,
    /// Auto top-up is not configured for this customer
    TopUpNotConfigured = 6033,
    /// The escrow balance is not below the customer's top-up threshold
    TopUpNotNeeded = 6034,
    /// The source token account has no allowance delegated to the config PDA
    NoAllowance = 6035,
    /// No unstake was requested
    UnstakeNotRequested = 6036,
    /// The unstake cooldown has not elapsed since the request
    CooldownNotElapsed = 6037,
    /// Rewards of closed epochs must be claimed before withdrawing stake
    UnclaimedEpochs = 6038,
    /// The epoch is not closed yet
    EpochNotClosed = 6039,
    /// The rewards of this epoch were already claimed
    AlreadyClaimed = 6040,
    /// The provider's stake is below the minimum stake
    StakeBelowMinimum = 6041,
    /// The epoch is already closed
    EpochClosed = 6042,
    /// The slash amount exceeds the provider's unencumbered stake
    SlashTooLarge = 6043,
    /// The slash is not in a state that allows this action
    SlashWrongState = 6044,
    /// The contest window of the slash has closed
    ContestWindowClosed = 6045,
    /// The contest window of the slash is still open
    ContestWindowOpen = 6046,
    /// The signer is not the arbiter
    NotArbiter = 6047,
    /// The batch's meter key is no longer registered for the batch's config version
    MeterRetired = 6048,
    /// A batch must commit at least one receipt
    EmptyBatch = 6049,
    /// The Merkle proof is longer than 32 levels
    ProofTooLong = 6050,
    /// The amount exceeds what is available
    InsufficientFunds = 6051,
    /// The clock is before the config's genesis timestamp
    ClockBeforeGenesis = 6052,
    /// The unstake request expired (usable only until requested_at + 2 x unstake_cooldown): request again
    UnstakeRequestExpired = 6053,
    /// initialize of an upgradeable program must be signed by its upgrade authority as admin
    NotUpgradeAuthority = 6054,
    /// post_batch: the config version the batch was built for is not the current config version
    StaleConfigVersion = 6055,
    /// The customer has not opened this channel (set_channel_limit): nothing is billed without its consent
    ChannelNotOpened = 6056,
    /// The withdrawal request expired (usable only until requested_at + 2 x withdrawal_delay): request again
    WithdrawalRequestExpired = 6057,
    /// The resolution window of the contested slash has closed: it can only lapse
    ResolutionWindowClosed = 6058,
    /// The arbiter may still resolve the contested slash
    ResolutionWindowOpen = 6059,
    /// The batch is still within its retention period (posted_at + batch_retention)
    BatchRetained = 6060,
    /// The price book version is not above the latest published version
    PriceBookVersionNotIncreasing = 6061,
}

impl Error {
    pub fn message(self) -> &'static str {
        match self {
            Error::UnknownInstruction => "UnknownInstruction",
            Error::InvalidInstructionData => "InvalidInstructionData",
            Error::NotEnoughAccounts => "NotEnoughAccounts",
            Error::MissingSignature => "MissingSignature",
            Error::NotWritable => "NotWritable",
            Error::WrongOwner => "WrongOwner",
            Error::WrongAccountType => "WrongAccountType",
            Error::WrongPda => "WrongPda",
            Error::AlreadyInitialized => "AlreadyInitialized",
            Error::WrongProgram => "WrongProgram",
            Error::WrongMint => "WrongMint",
            Error::WrongTokenAccount => "WrongTokenAccount",
            Error::Unauthorized => "Unauthorized",
            Error::Paused => "Paused",
            Error::FeeTooHigh => "FeeTooHigh",
            Error::InvalidConfig => "InvalidConfig",
            Error::MeterListFull => "MeterListFull",
            Error::NotAMeter => "NotAMeter",
            Error::ArithmeticOverflow => "ArithmeticOverflow",
            Error::ZeroAmount => "ZeroAmount",
            Error::CpiFailed => "CpiFailed",
            Error::BadReceipt => "BadReceipt",
            Error::ReceiptProgramMismatch => "ReceiptProgramMismatch",
            Error::ReceiptConfigVersion => "ReceiptConfigVersion",
            Error::ReceiptChannelMismatch => "ReceiptChannelMismatch",
            Error::InvalidProof => "InvalidProof",
            Error::ReplayedReceipt => "ReplayedReceipt",
            Error::CumulativeNotIncreasing => "CumulativeNotIncreasing",
            Error::ChannelLimitExceeded => "ChannelLimitExceeded",
            Error::EscrowUnderfunded => "EscrowUnderfunded",
            Error::BrokenHashChain => "BrokenHashChain",
            Error::WithdrawalNotRequested => "WithdrawalNotRequested",
            Error::WithdrawalDelayNotElapsed => "WithdrawalDelayNotElapsed",
            Error::TopUpNotConfigured => "TopUpNotConfigured",
            Error::TopUpNotNeeded => "TopUpNotNeeded",
            Error::NoAllowance => "NoAllowance",
            Error::UnstakeNotRequested => "UnstakeNotRequested",
            Error::CooldownNotElapsed => "CooldownNotElapsed",
            Error::UnclaimedEpochs => "UnclaimedEpochs",
            Error::EpochNotClosed => "EpochNotClosed",
            Error::AlreadyClaimed => "AlreadyClaimed",
            Error::StakeBelowMinimum => "StakeBelowMinimum",
            Error::EpochClosed => "EpochClosed",
            Error::SlashTooLarge => "SlashTooLarge",
            Error::SlashWrongState => "SlashWrongState",
            Error::ContestWindowClosed => "ContestWindowClosed",
            Error::ContestWindowOpen => "ContestWindowOpen",
            Error::NotArbiter => "NotArbiter",
            Error::MeterRetired => "MeterRetired",
            Error::EmptyBatch => "EmptyBatch",
            Error::ProofTooLong => "ProofTooLong",
            Error::InsufficientFunds => "InsufficientFunds",
            Error::ClockBeforeGenesis => "ClockBeforeGenesis",
            Error::UnstakeRequestExpired => "UnstakeRequestExpired",
            Error::NotUpgradeAuthority => "NotUpgradeAuthority",
            Error::StaleConfigVersion => "StaleConfigVersion",
            Error::ChannelNotOpened => "ChannelNotOpened",
            Error::WithdrawalRequestExpired => "WithdrawalRequestExpired",
            Error::ResolutionWindowClosed => "ResolutionWindowClosed",
            Error::ResolutionWindowOpen => "ResolutionWindowOpen",
            Error::BatchRetained => "BatchRetained",
            Error::PriceBookVersionNotIncreasing => "PriceBookVersionNotIncreasing",
        }
    }
}
