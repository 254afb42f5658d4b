//! OpenID Connect sign-in: sign-ins under way (between the redirect to the
//! identity provider and its answer) and the accounts at a provider linked
//! to users (migration 0007). The operations are in `oidc_ops.rs`, compiled
//! for each backend like `auth_ops.rs`.
//!
//! The store keeps no secret here either: a sign-in under way is found by
//! the SHA-256 of its `state`, and its PKCE verifier arrives masked by the
//! server (with a key derived from the state), so the row alone does not
//! give it away.

use changedesk_core::Timestamp;
use changedesk_core::access::{Role, Scope};

use super::{Backend, Result, Store, User, postgres, sqlite};

/// The most sign-ins under way at once: anyone may start one, so beyond
/// this [`Store::create_pending_sign_in`] answers [`StoreError::Busy`]
/// until some finish or expire.
///
/// [`StoreError::Busy`]: crate::StoreError::Busy
pub const MAX_PENDING_SIGN_INS: i64 = 10_000;

/// A sign-in under way.
#[derive(Clone, PartialEq, Eq)]
pub struct PendingSignIn {
    /// The SHA-256 (hex) of the `state` sent to the provider.
    pub state_hash: String,
    /// The PKCE code verifier as the server masked it: opaque here.
    pub verifier: String,
    /// The `nonce` the ID token must carry.
    pub nonce: String,
    /// Where to go once signed in: a relative path the server checked.
    pub return_to: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

impl std::fmt::Debug for PendingSignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingSignIn")
            .field("return_to", &self.return_to)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A person's account at an identity provider: the issuer and the
/// provider's immutable id of them (Entra ID: the `oid` claim).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OidcIdentity {
    pub issuer: String,
    pub subject: String,
}

/// What the provider's claims say about a person who just signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcProfile {
    /// The sign-in name for a new user (checked and lower-cased with
    /// [`changedesk_core::access::validate_user_name`]); an existing user
    /// keeps theirs.
    pub name: String,
    /// Empty: left as it is.
    pub display_name: String,
    /// Empty: left as it is.
    pub email: String,
    /// The role the claims map to; a known user's role follows it.
    pub role: Role,
    /// `Some`: the scope the claims map to (a known user's follows it);
    /// `None`: a new user gets every tenant, a known user keeps theirs.
    pub scope: Option<Scope>,
}

/// The outcome of [`Store::oidc_sign_in`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OidcSignIn {
    /// A user created for this identity (audited `user.create`).
    Created(User),
    /// The user linked to this identity, brought up to date with the
    /// claims; `changed` names the fields that changed (audited
    /// `user.update`), empty when nothing did.
    Existing { user: User, changed: Vec<String> },
    /// The linked user is disabled: nothing was changed.
    Disabled(User),
    /// No user is linked to this identity, and creating one was not
    /// allowed: nothing was changed.
    Unknown,
}

impl Store {
    /// Records a sign-in under way, and deletes those expired by its
    /// `created_at`. [`StoreError::Conflict`](crate::StoreError::Conflict)
    /// when one with this state exists.
    pub async fn create_pending_sign_in(&self, pending: &PendingSignIn) -> Result<()> {
        self.create_pending_sign_in_within(pending, MAX_PENDING_SIGN_INS)
            .await
    }

    /// [`Store::create_pending_sign_in`] with at most `most` sign-ins under
    /// way (its tests use a small bound).
    pub async fn create_pending_sign_in_within(
        &self,
        pending: &PendingSignIn,
        most: i64,
    ) -> Result<()> {
        let writer = &*self.writer;
        dispatch_write!(self.create_pending_sign_in(writer, pending, most))
    }

    /// Takes the sign-in under way with this state hash: returns it and
    /// deletes it in one step, so it can be taken once, by one caller, on
    /// whatever instance. An expired one is returned too (and deleted):
    /// the caller tells the person it expired.
    pub async fn take_pending_sign_in(&self, state_hash: &str) -> Result<Option<PendingSignIn>> {
        let writer = &*self.writer;
        dispatch_write!(self.take_pending_sign_in(writer, state_hash))
    }

    /// Signs in the person the provider identified: finds the user linked
    /// to `identity` and brings their role (and, when the profile has one,
    /// their scope), display name and e-mail address up to date with the
    /// claims; or, with `allow_create`, creates the user and links the
    /// identity. All in one transaction, audited as `actor`.
    ///
    /// [`StoreError::Conflict`](crate::StoreError::Conflict) when a new
    /// user's name is taken by a user not linked to this identity;
    /// [`StoreError::Invalid`](crate::StoreError::Invalid) for a name or
    /// scope that is not valid, or when the new role would leave no enabled
    /// admin.
    pub async fn oidc_sign_in(
        &self,
        identity: &OidcIdentity,
        profile: &OidcProfile,
        allow_create: bool,
        actor: &str,
        at: &Timestamp,
    ) -> Result<OidcSignIn> {
        let writer = &*self.writer;
        dispatch_write!(self.oidc_sign_in(writer, identity, profile, allow_create, actor, at))
    }

    /// The identities linked to a user, by issuer and subject.
    pub async fn oidc_identities(&self, user_id: i64) -> Result<Vec<OidcIdentity>> {
        dispatch!(self.oidc_identities(user_id))
    }

    /// Links an account at an identity provider to the existing user named
    /// `user` (any case), so that person signs in with the provider as that
    /// user (with or without `allow_create`), audited `user.link` as
    /// `actor`. Linking an identity the user already has changes nothing
    /// and returns `false`.
    ///
    /// [`StoreError::NotFound`](crate::StoreError::NotFound) for an
    /// unknown user; [`StoreError::Conflict`](crate::StoreError::Conflict)
    /// when the identity is linked to another user;
    /// [`StoreError::Invalid`](crate::StoreError::Invalid) for an empty or
    /// overlong issuer or subject.
    pub async fn link_oidc_identity(
        &self,
        user: &str,
        identity: &OidcIdentity,
        actor: &str,
        at: &Timestamp,
    ) -> Result<bool> {
        let writer = &*self.writer;
        dispatch_write!(self.link_oidc_identity(writer, user, identity, actor, at))
    }

    /// Unlinks an identity from the user named `user`, audited
    /// `user.unlink`; `false` when it was not linked to them.
    /// [`StoreError::NotFound`](crate::StoreError::NotFound) for an
    /// unknown user.
    pub async fn unlink_oidc_identity(
        &self,
        user: &str,
        identity: &OidcIdentity,
        actor: &str,
        at: &Timestamp,
    ) -> Result<bool> {
        let writer = &*self.writer;
        dispatch_write!(self.unlink_oidc_identity(writer, user, identity, actor, at))
    }
}
