"""Protocol encryption (MSE) settings for the libtorrent test scripts (--enc).

libtorrent's in/out_enc_policy and allowed_enc_level: 'enabled' is its default (MSE or plain
text both ways, plain text preferred after the handshake); 'forced' refuses plain handshakes
both ways; 'forced-rc4' also refuses a plain-text stream after the MSE handshake.
"""
import libtorrent as lt

ENC = {
    'enabled': (lt.enc_policy.pe_enabled, lt.enc_level.pe_both),
    'forced': (lt.enc_policy.pe_forced, lt.enc_level.pe_both),
    'forced-rc4': (lt.enc_policy.pe_forced, lt.enc_level.pe_rc4),
    'disabled': (lt.enc_policy.pe_disabled, lt.enc_level.pe_both),
}


def enc_settings(name):
    policy, level = ENC[name]
    return {'in_enc_policy': int(policy), 'out_enc_policy': int(policy), 'allowed_enc_level': int(level)}
