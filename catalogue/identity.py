"""Who the caller is (a Principal from a verified token) and which roles the database gives them."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Caller", "Principal", "Roles"]


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated person or service, as named by a verified token."""

    subject: str
    issuer: str
    name: str | None = None
    email: str | None = None
    affiliation: str | None = None  # the home organisation the issuer vouches for (schac_home_organization)
    # the value of the claim configured to identify participants (GENOMEGATE_PARTICIPANT_CLAIM, default sub):
    # only ever kept as participants.keys' keyed hash
    participant_id: str | None = field(default=None, repr=False)

    @property
    def organisation(self) -> str:
        """The organisation an account belongs to, for limits shared by colleagues: the affiliation the issuer
        states, else the domain of the e-mail address, else the issuer itself (its unaffiliated accounts share)."""
        if self.affiliation:
            return self.affiliation.lower()
        if self.email and "@" in self.email:
            return self.email.rsplit("@", 1)[1].lower()
        return self.issuer


@dataclass(frozen=True, slots=True)
class Roles:
    """The roles a subject holds; kept in the database, never taken from tokens."""

    admin: bool = False
    steward_of: frozenset[str] = field(default_factory=frozenset)
    dac_member_of: frozenset[str] = field(default_factory=frozenset)


_NO_ROLES = Roles()


@dataclass(frozen=True, slots=True)
class Caller:
    """The caller of one request or CLI command: anonymous, or a principal with roles.

    The CLI runs as the operator (`operator=True`), who may do what an admin may. `visa_grants` holds the
    datasets that GA4GH visas presented with this request grant (dataset id -> visa jti), and `visa_expiries`
    when those visas expire (dataset id -> epoch seconds): what they grant ends then, release tickets included.
    """

    principal: Principal | None = None
    roles: Roles = _NO_ROLES
    operator: bool = False
    visa_grants: dict[str, str] = field(default_factory=dict)
    visa_expiries: dict[str, int] = field(default_factory=dict)
    address: str | None = None  # the client's network address (budgets of anonymous callers)

    @property
    def subject(self) -> str | None:
        return self.principal.subject if self.principal else None

    @property
    def authenticated(self) -> bool:
        return self.principal is not None or self.operator

    @property
    def is_admin(self) -> bool:
        return self.operator or self.roles.admin

    def stewards(self, organisation_id: str) -> bool:
        return self.is_admin or organisation_id in self.roles.steward_of

    def sits_on(self, dac_id: str) -> bool:
        return dac_id in self.roles.dac_member_of

    @classmethod
    def cli_operator(cls, subject: str = "operator@cli") -> Caller:
        return cls(principal=Principal(subject=subject, issuer="cli"), operator=True)


ANONYMOUS = Caller()
