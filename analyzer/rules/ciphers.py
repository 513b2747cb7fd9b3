"""CIP rules: ciphers, hashes, key exchange, cipher suite order and FIPS mode (tls-facts.md §6)."""

from __future__ import annotations

from analyzer.knowledge.ciphers import DISABLED, GROUPS, LEGACY_CIPHER_NAMES, UNKNOWN, WEAK_CIPHERS, WEAK_HASHES
from analyzer.knowledge.schannel import SCHANNEL
from analyzer.registry import fold
from analyzer.rules import FAIL, PASS, UNDECIDED, Context, Hit, Outcome, Part, combine, rule


def _all_off(ctx: Context, prefix: str, group: str, names: tuple[str, ...]) -> Outcome:
    parts: list[Part] = []
    for name in names:
        setting = ctx.settings[f"{prefix}/{name}"]
        if setting.state == DISABLED and (ctx.absence != "finding" or setting.source == "explicit"):
            parts.append((PASS, None))
            continue
        status = UNDECIDED if setting.state == UNKNOWN else FAIL
        reason = "absent (this profile counts an absent value as a finding)" if setting.state == DISABLED else \
            f"{setting.state} ({setting.source})"
        where = ctx.setting_location(setting, (*SCHANNEL, group, name), "Enabled")
        parts.append((status, Hit(f"{group}\\{name} is {reason}: {setting.detail}", where)))
    return combine(parts, f"{', '.join(names)} off")


@rule("CIP001", "weak-ciphers-off", "error")
def weak_ciphers(ctx: Context) -> Outcome:
    """NULL, DES, RC2, RC4 and Triple DES must be switched off.

    What it checks: ``SCHANNEL\\Ciphers\\<name>`` ``Enabled`` = 0 for NULL, DES 56/56, RC2 40/128, 56/128,
    128/128, RC4 40/128, 56/128, 64/128, 128/128 and Triple DES 168. Absent keys mean the default: on,
    except NULL (off) and RC4 (off from Windows 10 1709 / build 16299).

    Why: these ciphers are broken or too weak (RC4 RFC 7465, Sweet32 for 3DES). Microsoft now steers
    this through the cipher suite order; the per-cipher switches still apply and CIS and hardening
    baselines set them.

    Non-compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Ciphers\\RC4 128/128]
        "Enabled"=dword:ffffffff

    Compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Ciphers\\NULL]
        "Enabled"=dword:00000000

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Ciphers\\DES 56/56]
        "Enabled"=dword:00000000

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Ciphers\\RC2 40/128]
        "Enabled"=dword:00000000

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Ciphers\\RC2 56/128]
        "Enabled"=dword:00000000

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Ciphers\\RC2 128/128]
        "Enabled"=dword:00000000

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Ciphers\\RC4 40/128]
        "Enabled"=dword:00000000

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Ciphers\\RC4 56/128]
        "Enabled"=dword:00000000

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Ciphers\\RC4 64/128]
        "Enabled"=dword:00000000

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Ciphers\\RC4 128/128]
        "Enabled"=dword:00000000

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Ciphers\\Triple DES 168]
        "Enabled"=dword:00000000

    When absent: the defaults above; Triple DES stays on unless switched off (a failure); RC4 is undecided
    while the OS is unknown.

    References: KB245030 (learn.microsoft.com/troubleshoot/windows-server/windows-security/restrict-cryptographic-algorithms-protocols-schannel);
    learn.microsoft.com/windows-server/security/tls/tls-schannel-ssp-changes-in-windows-10-and-windows-server (RC4).
    """
    return _all_off(ctx, "cipher", "Ciphers", WEAK_CIPHERS)


@rule("CIP002", "weak-hashes-off", "error")
def weak_hashes(ctx: Context) -> Outcome:
    """MD5 must be switched off for Schannel.

    What it checks: ``SCHANNEL\\Hashes\\MD5`` ``Enabled`` = 0 (absent means on). SHA (SHA-1) is not
    required off: TLS 1.2 suites still use it for HMAC, and turning it off breaks connections.

    Why: MD5 is broken; CIS and hardening baselines switch it off.

    Non-compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Hashes\\MD5]
        "Enabled"=dword:ffffffff

    Compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Hashes\\MD5]
        "Enabled"=dword:00000000

    When absent: MD5 is on (a failure).

    References: KB245030.
    """
    return _all_off(ctx, "hash", "Hashes", WEAK_HASHES)


@rule("CIP003", "dh-key-size", "warning")
def dh_key_size(ctx: Context) -> Outcome:
    """Diffie-Hellman keys must be at least 2048 bits for Client and Server.

    What it checks: ``KeyExchangeAlgorithms\\Diffie-Hellman`` ``ClientMinKeyBitLength`` and
    ``ServerMinKeyBitLength`` (REG_DWORD, bits); absent values mean the documented defaults, 1024 for the
    client and 2048 for the server (Windows 10 / Server 2016 and later).

    Why: 1024-bit DH is within reach of well-funded attackers (Logjam); NIST SP 800-52r2 asks for 2048.

    Non-compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\KeyExchangeAlgorithms\\Diffie-Hellman]
        "ClientMinKeyBitLength"=dword:00000400
        "ServerMinKeyBitLength"=dword:00000800

    Compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\KeyExchangeAlgorithms\\Diffie-Hellman]
        "ClientMinKeyBitLength"=dword:00000800
        "ServerMinKeyBitLength"=dword:00000800

    When absent: the client default of 1024 bits fails. The defaults apply from Windows 10 / Server 2016;
    older versions are not documented (UNCERTAIN).

    References: learn.microsoft.com/windows-server/security/tls/tls-registry-settings (key sizes).
    """
    parts: list[Part] = []
    for name in ("ClientMinKeyBitLength", "ServerMinKeyBitLength"):
        setting = ctx.settings[f"keyexchange/Diffie-Hellman/{name}"]
        bits = setting.extra.get("bits")
        if isinstance(bits, int) and bits >= 2048:
            parts.append((PASS, None))
            continue
        status = UNDECIDED if setting.state == UNKNOWN else FAIL
        where = ctx.setting_location(setting, (*SCHANNEL, "KeyExchangeAlgorithms", "Diffie-Hellman"), name)
        parts.append((status, Hit(f"Diffie-Hellman {name} is {setting.state} bits ({setting.source})", where)))
    return combine(parts, "Diffie-Hellman keys of at least 2048 bits")


@rule("CIP004", "fips-mode", "note")
def fips(ctx: Context) -> Outcome:
    """FIPS mode (System cryptography: Use FIPS compliant algorithms) should be on where a STIG asks for it.

    What it checks: ``SYSTEM\\CurrentControlSet\\Control\\Lsa\\FipsAlgorithmPolicy`` ``Enabled`` = 1 (the
    legacy ``Lsa\\FIPSAlgorithmPolicy`` value is read too).

    Why: Windows Server STIG WN16-SO-000430 requires it. It restricts Schannel to FIPS-approved
    algorithms; Microsoft's policy page still describes the XP-era effect (UNCERTAIN for current Windows).

    Non-compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Lsa\\FipsAlgorithmPolicy]
        "Enabled"=dword:00000000

    Compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Lsa\\FipsAlgorithmPolicy]
        "Enabled"=dword:00000001

    When absent: FIPS mode is off (a finding where this rule is enabled).

    References: learn.microsoft.com/windows/security/threat-protection/security-policy-settings/system-cryptography-use-fips-compliant-algorithms-for-encryption-hashing-and-signing;
    DISA Windows Server 2016 STIG WN16-SO-000430.
    """
    setting = ctx.settings["fips/policy"]
    if setting.state == "on":
        return Outcome(PASS, "FIPS mode is on")
    if setting.state == UNKNOWN:
        return Outcome(UNDECIDED, f"FIPS mode: {setting.detail}")
    where = ctx.setting_location(setting, ("HKEY_LOCAL_MACHINE", "SYSTEM", "CurrentControlSet", "Control", "Lsa",
                                           "FipsAlgorithmPolicy"), "Enabled")
    message = f"FIPS mode is {setting.state} ({setting.source})"
    return Outcome(FAIL, message, (Hit(message, where),))


@rule("CIP005", "algorithm-key-unknown", "error")
def unknown_algorithm_keys(ctx: Context) -> Outcome:
    """Cipher, hash and key-exchange keys must be spelled as Schannel reads them.

    What it checks: every subkey of ``SCHANNEL\\Ciphers``, ``Hashes`` and ``KeyExchangeAlgorithms`` is a
    name Schannel documents (``RC4 128/128``, ``Triple DES 168``, ``MD5``, ``Diffie-Hellman``, ...).

    Why: ``RC4 128`` or ``Triple DES 168/168`` (the pre-Vista name) are keys Windows never reads, so the
    cipher the author meant to switch off stays on.

    Non-compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Ciphers\\Triple DES 168/168]
        "Enabled"=dword:00000000

    Compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Ciphers\\Triple DES 168]
        "Enabled"=dword:00000000

    When absent: nothing to check.

    References: KB245030 (the "/" is part of the key name).
    """
    hits = []
    for group, names in GROUPS.items():
        known = {fold(n) for n in names}
        for name in ctx.machine.subkeys((*SCHANNEL, group)):
            if fold(name) in known:
                continue
            legacy = " (the pre-Vista or mistyped name: Windows Vista and later ignore it)" if name in \
                LEGACY_CIPHER_NAMES else ""
            hits.append(Hit(f"{group}\\{name} is not a key Schannel reads{legacy}", ctx.location((*SCHANNEL, group, name))))
    if hits:
        return Outcome(FAIL, f"{len(hits)} unknown algorithm key(s)", tuple(hits))
    return Outcome(PASS, "every algorithm key is one Schannel reads")


@rule("CIP006", "suite-order-weak", "warning")
def suite_order(ctx: Context) -> Outcome:
    """A configured cipher suite order must not list weak suites.

    What it checks: the ``Functions`` list of the SSL Cipher Suite Order policy
    (``SOFTWARE\\Policies\\Microsoft\\Cryptography\\Configuration\\SSL\\00010002``, which wins) or of the
    local ``...\\Cryptography\\Configuration\\Local\\SSL\\00010002`` key: no NULL, RC4, DES, 3DES, EXPORT,
    MD5 or anonymous suites.

    Why: the suite order is how current Windows decides which suites exist; a weak suite listed there is
    offered whatever the per-cipher switches say.

    Non-compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Cryptography\\Configuration\\SSL\\00010002]
        "Functions"="TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,TLS_RSA_WITH_3DES_EDE_CBC_SHA"

    Compliant:
        Windows Registry Editor Version 5.00

        [HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Cryptography\\Configuration\\SSL\\00010002]
        "Functions"="TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"

    When absent: the OS default order applies (nothing to report here; CIP001 covers the ciphers).

    References: learn.microsoft.com/windows/win32/secauthn/prioritizing-schannel-cipher-suites;
    CIS Microsoft IIS 10 Benchmark 7.12 (as reproduced by a third-party script: UNCERTAIN numbering).
    """
    setting = ctx.settings["ciphersuites/order"]
    weak = setting.extra.get("weak")
    if not weak:
        return Outcome(PASS, f"suite order: {setting.state}")
    assert isinstance(weak, list)
    where = ctx.setting_location(setting, ("HKEY_LOCAL_MACHINE", "SOFTWARE"), "Functions")
    message = f"the {setting.state} cipher suite order lists weak suites: {', '.join(weak)}"
    return Outcome(FAIL, message, (Hit(message, where),))
