#!/usr/bin/env python3
"""gen_constants.py -- derives every constant of cloister's BLS12-381 library from first
principles (p, r, x and the RFC 9380 isogeny coefficients below) and writes them, as C limb
arrays in Montgomery form, to src/pairing/constants.{h,c}. Run it from anywhere:

    python3 tools/pairing-vectors/gen_constants.py

Nothing here is transcribed by hand except the curve definition and the RFC 9380 appendix E
isogeny maps; every derived value is checked (sqrt, cube root choice, endomorphism eigenvalue)
before it is written.
"""
import os

P = 0x1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab
R_ORDER = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001
Z_ABS = 0xd201000000010000  # the BLS parameter is x = -Z_ABS
assert R_ORDER == Z_ABS**4 - Z_ABS**2 + 1
G1_X = 0x17f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb
G1_Y = 0x08b3f481e3aaa0f1a09e30ed741d8ae4fcf5e095d5d00af600db18cb2c04b3edd03cc744a2888ae40caa232946c5e7e1
G2_X = (0x024aa2b2f08f0a91260805272dc51051c6e47ad4fa403b02b4510b647ae3d1770bac0326a805bbefd48056c8c121bdb8,
        0x13e02b6052719f607dacd3a088274f65596bd0d09920b61ab5da61bbdc7f5049334cf11213945d57e5ac7d055d042b7e)
G2_Y = (0x0ce5d527727d6e118cc9cdc6da2e351aadfd9baa8cbdd3a76d429a695160d12c923ac9cc3baca289e193548608b82801,
        0x0606c4a02ea734cc32acd2b02bc28b99cb3e287e85a763af267492ab572e99ab3f370d275cec1da1aaa9075ff05f79be)

ISO_G1 = {
    'xNum': [
        0x11a05f2b1e833340b809101dd99815856b303e88a2d7005ff2627b56cdb4e2c85610c2d5f2e62d6eaeac1662734649b7,
        0x17294ed3e943ab2f0588bab22147a81c7c17e75b2f6a8417f565e33c70d1e86b4838f2a6f318c356e834eef1b3cb83bb,
        0xd54005db97678ec1d1048c5d10a9a1bce032473295983e56878e501ec68e25c958c3e3d2a09729fe0179f9dac9edcb0,
        0x1778e7166fcc6db74e0609d307e55412d7f5e4656a8dbf25f1b33289f1b330835336e25ce3107193c5b388641d9b6861,
        0xe99726a3199f4436642b4b3e4118e5499db995a1257fb3f086eeb65982fac18985a286f301e77c451154ce9ac8895d9,
        0x1630c3250d7313ff01d1201bf7a74ab5db3cb17dd952799b9ed3ab9097e68f90a0870d2dcae73d19cd13c1c66f652983,
        0xd6ed6553fe44d296a3726c38ae652bfb11586264f0f8ce19008e218f9c86b2a8da25128c1052ecaddd7f225a139ed84,
        0x17b81e7701abdbe2e8743884d1117e53356de5ab275b4db1a682c62ef0f2753339b7c8f8c8f475af9ccb5618e3f0c88e,
        0x80d3cf1f9a78fc47b90b33563be990dc43b756ce79f5574a2c596c928c5d1de4fa295f296b74e956d71986a8497e317,
        0x169b1f8e1bcfa7c42e0c37515d138f22dd2ecb803a0c5c99676314baf4bb1b7fa3190b2edc0327797f241067be390c9e,
        0x10321da079ce07e272d8ec09d2565b0dfa7dccdde6787f96d50af36003b14866f69b771f8c285decca67df3f1605fb7b,
        0x6e08c248e260e70bd1e962381edee3d31d79d7e22c837bc23c0bf1bc24c6b68c24b1b80b64d391fa9c8ba2e8ba2d229,
    ],
    'xDen': [
        0x8ca8d548cff19ae18b2e62f4bd3fa6f01d5ef4ba35b48ba9c9588617fc8ac62b558d681be343df8993cf9fa40d21b1c,
        0x12561a5deb559c4348b4711298e536367041e8ca0cf0800c0126c2588c48bf5713daa8846cb026e9e5c8276ec82b3bff,
        0xb2962fe57a3225e8137e629bff2991f6f89416f5a718cd1fca64e00b11aceacd6a3d0967c94fedcfcc239ba5cb83e19,
        0x3425581a58ae2fec83aafef7c40eb545b08243f16b1655154cca8abc28d6fd04976d5243eecf5c4130de8938dc62cd8,
        0x13a8e162022914a80a6f1d5f43e7a07dffdfc759a12062bb8d6b44e833b306da9bd29ba81f35781d539d395b3532a21e,
        0xe7355f8e4e667b955390f7f0506c6e9395735e9ce9cad4d0a43bcef24b8982f7400d24bc4228f11c02df9a29f6304a5,
        0x772caacf16936190f3e0c63e0596721570f5799af53a1894e2e073062aede9cea73b3538f0de06cec2574496ee84a3a,
        0x14a7ac2a9d64a8b230b3f5b074cf01996e7f63c21bca68a81996e1cdf9822c580fa5b9489d11e2d311f7d99bbdcc5a5e,
        0xa10ecf6ada54f825e920b3dafc7a3cce07f8d1d7161366b74100da67f39883503826692abba43704776ec3a79a1d641,
        0x95fc13ab9e92ad4476d6e3eb3a56680f682b4ee96f7d03776df533978f31c1593174e4b4b7865002d6384d168ecdd0a,
        0x000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001,
    ],
    'yNum': [
        0x90d97c81ba24ee0259d1f094980dcfa11ad138e48a869522b52af6c956543d3cd0c7aee9b3ba3c2be9845719707bb33,
        0x134996a104ee5811d51036d776fb46831223e96c254f383d0f906343eb67ad34d6c56711962fa8bfe097e75a2e41c696,
        0xcc786baa966e66f4a384c86a3b49942552e2d658a31ce2c344be4b91400da7d26d521628b00523b8dfe240c72de1f6,
        0x1f86376e8981c217898751ad8746757d42aa7b90eeb791c09e4a3ec03251cf9de405aba9ec61deca6355c77b0e5f4cb,
        0x8cc03fdefe0ff135caf4fe2a21529c4195536fbe3ce50b879833fd221351adc2ee7f8dc099040a841b6daecf2e8fedb,
        0x16603fca40634b6a2211e11db8f0a6a074a7d0d4afadb7bd76505c3d3ad5544e203f6326c95a807299b23ab13633a5f0,
        0x4ab0b9bcfac1bbcb2c977d027796b3ce75bb8ca2be184cb5231413c4d634f3747a87ac2460f415ec961f8855fe9d6f2,
        0x987c8d5333ab86fde9926bd2ca6c674170a05bfe3bdd81ffd038da6c26c842642f64550fedfe935a15e4ca31870fb29,
        0x9fc4018bd96684be88c9e221e4da1bb8f3abd16679dc26c1e8b6e6a1f20cabe69d65201c78607a360370e577bdba587,
        0xe1bba7a1186bdb5223abde7ada14a23c42a0ca7915af6fe06985e7ed1e4d43b9b3f7055dd4eba6f2bafaaebca731c30,
        0x19713e47937cd1be0dfd0b8f1d43fb93cd2fcbcb6caf493fd1183e416389e61031bf3a5cce3fbafce813711ad011c132,
        0x18b46a908f36f6deb918c143fed2edcc523559b8aaf0c2462e6bfe7f911f643249d9cdf41b44d606ce07c8a4d0074d8e,
        0xb182cac101b9399d155096004f53f447aa7b12a3426b08ec02710e807b4633f06c851c1919211f20d4c04f00b971ef8,
        0x245a394ad1eca9b72fc00ae7be315dc757b3b080d4c158013e6632d3c40659cc6cf90ad1c232a6442d9d3f5db980133,
        0x5c129645e44cf1102a159f748c4a3fc5e673d81d7e86568d9ab0f5d396a7ce46ba1049b6579afb7866b1e715475224b,
        0x15e6be4e990f03ce4ea50b3b42df2eb5cb181d8f84965a3957add4fa95af01b2b665027efec01c7704b456be69c8b604,
    ],
    'yDen': [
        0x16112c4c3a9c98b252181140fad0eae9601a6de578980be6eec3232b5be72e7a07f3688ef60c206d01479253b03663c1,
        0x1962d75c2381201e1a0cbd6c43c348b885c84ff731c4d59ca4a10356f453e01f78a4260763529e3532f6102c2e49a03d,
        0x58df3306640da276faaae7d6e8eb15778c4855551ae7f310c35a5dd279cd2eca6757cd636f96f891e2538b53dbf67f2,
        0x16b7d288798e5395f20d23bf89edb4d1d115c5dbddbcd30e123da489e726af41727364f2c28297ada8d26d98445f5416,
        0xbe0e079545f43e4b00cc912f8228ddcc6d19c9f0f69bbb0542eda0fc9dec916a20b15dc0fd2ededda39142311a5001d,
        0x8d9e5297186db2d9fb266eaac783182b70152c65550d881c5ecd87b6f0f5a6449f38db9dfa9cce202c6477faaf9b7ac,
        0x166007c08a99db2fc3ba8734ace9824b5eecfdfa8d0cf8ef5dd365bc400a0051d5fa9c01a58b1fb93d1a1399126a775c,
        0x16a3ef08be3ea7ea03bcddfabba6ff6ee5a4375efa1f4fd7feb34fd206357132b920f5b00801dee460ee415a15812ed9,
        0x1866c8ed336c61231a1be54fd1d74cc4f9fb0ce4c6af5920abc5750c4bf39b4852cfe2f7bb9248836b233d9d55535d4a,
        0x167a55cda70a6e1cea820597d94a84903216f763e13d87bb5308592e7ea7d4fbc7385ea3d529b35e346ef48bb8913f55,
        0x4d2f259eea405bd48f010a01ad2911d9c6dd039bb61a6290e591b36e636a5c871a5c29f4f83060400f8b49cba8f6aa8,
        0xaccbb67481d033ff5852c1e48c50c477f94ff8aefce42d28c0f9a88cea7913516f968986f7ebbea9684b529e2561092,
        0xad6b9514c767fe3c3613144b45f1496543346d98adf02267d5ceef9a00d9b8693000763e3b90ac11e99b138573345cc,
        0x2660400eb2e4f3b628bdd0d53cd76f2bf565b94e72927c1cb748df27942480e420517bd8714cc80d1fadc1326ed06f7,
        0xe0fa1d816ddc03e6b24255e0d7819c171c40f65e273b853324efcd6356caa205ca2f570f13497804415473a1d634b8f,
        0x000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001,
    ],
}
ISO_G2 = {
    'xNum': [
        (0x5c759507e8e333ebb5b7a9a47d7ed8532c52d39fd3a042a88b58423c50ae15d5c2638e343d9c71c6238aaaaaaaa97d6, 0x5c759507e8e333ebb5b7a9a47d7ed8532c52d39fd3a042a88b58423c50ae15d5c2638e343d9c71c6238aaaaaaaa97d6),
        (0x0, 0x11560bf17baa99bc32126fced787c88f984f87adf7ae0c7f9a208c6b4f20a4181472aaa9cb8d555526a9ffffffffc71a),
        (0x11560bf17baa99bc32126fced787c88f984f87adf7ae0c7f9a208c6b4f20a4181472aaa9cb8d555526a9ffffffffc71e, 0x8ab05f8bdd54cde190937e76bc3e447cc27c3d6fbd7063fcd104635a790520c0a395554e5c6aaaa9354ffffffffe38d),
        (0x171d6541fa38ccfaed6dea691f5fb614cb14b4e7f4e810aa22d6108f142b85757098e38d0f671c7188e2aaaaaaaa5ed1, 0x0),
    ],
    'xDen': [
        (0x0, 0x1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaa63),
        (0xc, 0x1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaa9f),
        (0x1, 0x0),
    ],
    'yNum': [
        (0x1530477c7ab4113b59a4c18b076d11930f7da5d4a07f649bf54439d87d27e500fc8c25ebf8c92f6812cfc71c71c6d706, 0x1530477c7ab4113b59a4c18b076d11930f7da5d4a07f649bf54439d87d27e500fc8c25ebf8c92f6812cfc71c71c6d706),
        (0x0, 0x5c759507e8e333ebb5b7a9a47d7ed8532c52d39fd3a042a88b58423c50ae15d5c2638e343d9c71c6238aaaaaaaa97be),
        (0x11560bf17baa99bc32126fced787c88f984f87adf7ae0c7f9a208c6b4f20a4181472aaa9cb8d555526a9ffffffffc71c, 0x8ab05f8bdd54cde190937e76bc3e447cc27c3d6fbd7063fcd104635a790520c0a395554e5c6aaaa9354ffffffffe38f),
        (0x124c9ad43b6cf79bfbf7043de3811ad0761b0f37a1e26286b0e977c69aa274524e79097a56dc4bd9e1b371c71c718b10, 0x0),
    ],
    'yDen': [
        (0x1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffa8fb, 0x1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffa8fb),
        (0x0, 0x1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffa9d3),
        (0x12, 0x1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaa99),
        (0x1, 0x0),
    ],
}

LIMB = 64
MASK = (1 << LIMB) - 1


def limbs(v, n):
    assert 0 <= v < 1 << (LIMB * n)
    return [(v >> (LIMB * i)) & MASK for i in range(n)]


def c_limbs(v, n):
    return '{' + ', '.join('0x%016xULL' % w for w in limbs(v, n)) + '}'


# Fp and Fp2 = Fp[u]/(u^2 + 1) with tuples (c0, c1).
def f2mul(a, b):
    return ((a[0] * b[0] - a[1] * b[1]) % P, (a[0] * b[1] + a[1] * b[0]) % P)


def f2pow(a, e):
    r = (1, 0)
    while e:
        if e & 1:
            r = f2mul(r, a)
        a = f2mul(a, a)
        e >>= 1
    return r


def f2inv(a):
    n = pow(a[0] * a[0] + a[1] * a[1], -1, P)
    return (a[0] * n % P, -a[1] * n % P)


# Affine G1 arithmetic, only to pick the cube root of unity whose endomorphism acts as -Z^2.
def g1_add(p1, p2):
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    (x1, y1), (x2, y2) = p1, p2
    if x1 == x2:
        if (y1 + y2) % P == 0:
            return None
        lam = 3 * x1 * x1 * pow(2 * y1, -1, P) % P
    else:
        lam = (y2 - y1) * pow(x2 - x1, -1, P) % P
    x3 = (lam * lam - x1 - x2) % P
    return (x3, (lam * (x1 - x3) - y1) % P)


def g1_mul(pt, k):
    acc = None
    while k:
        if k & 1:
            acc = g1_add(acc, pt)
        pt = g1_add(pt, pt)
        k >>= 1
    return acc


RMONT = 1 << 384
RFR = 1 << 256
XI = (1, 1)  # the Fp6 non-residue u + 1


def mont(v):
    return v * RMONT % P


out_h, out_c = [], []


def fp_const(name, v, n=None):
    if n is None:
        out_h.append('extern const bls_fp %s;' % name)
        out_c.append('const bls_fp %s = {%s};' % (name, c_limbs(mont(v % P), 6)))
    else:
        out_h.append('extern const bls_fp %s[%d];' % (name, n))
        body = ',\n    '.join('{%s}' % c_limbs(mont(x % P), 6) for x in v)
        out_c.append('const bls_fp %s[%d] = {\n    %s,\n};' % (name, n, body))


def fp2_body(v):
    return '{{%s}, {%s}}' % (c_limbs(mont(v[0] % P), 6), c_limbs(mont(v[1] % P), 6))


def fp2_const(name, v, n=None):
    if n is None:
        out_h.append('extern const bls_fp2 %s;' % name)
        out_c.append('const bls_fp2 %s = %s;' % (name, fp2_body(v)))
    else:
        out_h.append('extern const bls_fp2 %s[%d];' % (name, n))
        body = ',\n    '.join(fp2_body(x) for x in v)
        out_c.append('const bls_fp2 %s[%d] = {\n    %s,\n};' % (name, n, body))


def raw_const(name, v, n, doc):
    # Header-only, so the compiler folds the words into immediates (the modulus above all).
    out_h.append('/* %s */\nstatic const uint64_t %s[%d] = %s;' % (doc, name, n, c_limbs(v, n)))


def word_const(name, v, doc):
    out_h.append('/* %s */\n#define %s 0x%016xULL' % (doc, name, v))


# Montgomery parameters.
raw_const('BLS_P', P, 6, 'the base field modulus p')
word_const('BLS_P_N0', (-pow(P, -1, 1 << 64)) % (1 << 64), '-p^-1 mod 2^64')
raw_const('BLS_FP_R2', RMONT * RMONT % P, 6, 'R^2 mod p, R = 2^384 (to Montgomery form)')
fp_const('BLS_FP_ONE', 1)
raw_const('BLS_FP_R3', RMONT ** 3 % P, 6, 'R^3 mod p (reduces 512-bit values)')
raw_const('BLS_R', R_ORDER, 4, 'the group order r')
word_const('BLS_R_N0', (-pow(R_ORDER, -1, 1 << 64)) % (1 << 64), '-r^-1 mod 2^64')
raw_const('BLS_FR_R2', RFR * RFR % R_ORDER, 4, 'R^2 mod r, R = 2^256')
raw_const('BLS_FR_ONE', RFR % R_ORDER, 4, 'R mod r: 1 in Montgomery form')
raw_const('BLS_FR_R3', RFR ** 3 % R_ORDER, 4, 'R^3 mod r (reduces 512-bit values)')

# Exponents (plain integers).
raw_const('BLS_EXP_P_MINUS_2', P - 2, 6, 'p - 2: inversion by Fermat')
raw_const('BLS_EXP_P_PLUS_1_DIV_4', (P + 1) // 4, 6, '(p + 1) / 4: square root, p = 3 mod 4')
raw_const('BLS_EXP_P_MINUS_3_DIV_4', (P - 3) // 4, 6, '(p - 3) / 4: sqrt_ratio and Fp2 sqrt')
raw_const('BLS_EXP_P_MINUS_1_DIV_2', (P - 1) // 2, 6, '(p - 1) / 2: Legendre symbol')
raw_const('BLS_EXP_R_MINUS_2', R_ORDER - 2, 4, 'r - 2: scalar inversion by Fermat')
raw_const('BLS_HALF_P', (P - 1) // 2, 6, '(p - 1) / 2, bound of the "lexicographically smaller" y')

# Curves: y^2 = x^3 + 4 and y^2 = x^3 + 4(u + 1); generators. (The complete formulas multiply
# by 3b with additions: fe_mul_b3 in src/pairing/ec_impl.h.)
fp_const('BLS_G1_B', 4)
fp2_const('BLS_G2_B', (4, 4))
assert (G1_Y ** 2 - G1_X ** 3 - 4) % P == 0
assert f2mul(G2_Y, G2_Y) == tuple((a + b) % P for a, b in zip(f2mul(f2mul(G2_X, G2_X), G2_X), (4, 4)))
fp_const('BLS_G1_GEN_X', G1_X)
fp_const('BLS_G1_GEN_Y', G1_Y)
fp2_const('BLS_G2_GEN_X', G2_X)
fp2_const('BLS_G2_GEN_Y', G2_Y)

# Frobenius coefficients of the tower Fp6 = Fp2[v]/(v^3 - xi), Fp12 = Fp6[w]/(w^2 - v), for the
# powers p^1, p^2, p^3.
fp2_const('BLS_FROB6_C1', [f2pow(XI, (P ** k - 1) // 3) for k in (1, 2, 3)], 3)
fp2_const('BLS_FROB6_C2', [f2pow(XI, 2 * (P ** k - 1) // 3) for k in (1, 2, 3)], 3)
fp2_const('BLS_FROB12_C1', [f2pow(XI, (P ** k - 1) // 6) for k in (1, 2, 3)], 3)

# GLV on G1: phi(x, y) = (beta x, y) with beta the cube root of unity for which phi = [-Z^2];
# then [Z^2]P = (beta x, -y).
gen = (G1_X, G1_Y)
target = g1_mul(gen, Z_ABS * Z_ABS)
beta = None
for cand in (pow(2, (P - 1) // 3, P), pow(2, 2 * (P - 1) // 3, P)):
    assert cand != 1 and pow(cand, 3, P) == 1
    if target == (cand * G1_X % P, (-G1_Y) % P):
        beta = cand
assert beta is not None
fp_const('BLS_G1_BETA', beta)
raw_const('BLS_Z2', Z_ABS * Z_ABS, 2, 'Z^2 = x^2: the GLV/GLS split k = k1 + k2 Z^2')
raw_const('BLS_Z2_BARRETT', (1 << 256) // (Z_ABS * Z_ABS), 3, 'floor(2^256 / Z^2)')
raw_const('BLS_Z_BARRETT', (1 << 128) // Z_ABS, 2, 'floor(2^128 / Z)')

# psi = untwist-Frobenius-twist on G2 (RFC 9380 section 8.8.2 / appendix G.3).
fp2_const('BLS_PSI_CX', f2inv(f2pow(XI, (P - 1) // 3)))
fp2_const('BLS_PSI_CY', f2inv(f2pow(XI, (P - 1) // 2)))
fp_const('BLS_PSI2_CX', pow(pow(2, (P - 1) // 3, P), -1, P))

# Simplified SWU for G1 (RFC 9380 section 8.8.1) with the q = 3 mod 4 sqrt_ratio.
A1 = 0x144698a3b8e9433d693a02c96d4982b0ea985383ee66a8d8e8981aefd881ac98936f8da0e0f97f5cf428082d584c1d
B1 = 0x12e2908d11688030018b12e8753eee3b2016c1f0f24f4070a0b9c14fcef35ef55a23215a316ceaa5d1cc48e98e172be0
Z1 = 11
fp_const('BLS_SSWU1_A', A1)
fp_const('BLS_SSWU1_B', B1)
fp_const('BLS_SSWU1_Z', Z1)
c2 = pow(-Z1 % P, (P + 1) // 4, P)
assert c2 * c2 % P == -Z1 % P
fp_const('BLS_SSWU1_SQRT_MINUS_Z', c2)

# Simplified SWU for G2 (section 8.8.2) with the generic sqrt_ratio (appendix F.2.1.1), q = p^2.
Q2 = P * P
S = 0
while (Q2 - 1) % (1 << (S + 1)) == 0:
    S += 1
assert S == 3
C2 = (Q2 - 1) >> S
Z2 = (-2 % P, -1 % P)
fp2_const('BLS_SSWU2_A', (0, 240))
fp2_const('BLS_SSWU2_B', (1012, 1012))
fp2_const('BLS_SSWU2_Z', Z2)
fp2_const('BLS_SSWU2_C6', f2pow(Z2, C2))
fp2_const('BLS_SSWU2_C7', f2pow(Z2, (C2 + 1) // 2))
raw_const('BLS_SSWU2_C3', (C2 - 1) // 2, 12, '(c2 - 1) / 2 with c2 = (p^2 - 1) / 8')

# Isogeny maps (RFC 9380 appendix E), ascending powers of x.
for part in ('xNum', 'xDen', 'yNum', 'yDen'):
    fp_const('BLS_ISO1_' + part.upper(), ISO_G1[part], len(ISO_G1[part]))
    fp2_const('BLS_ISO2_' + part.upper(), ISO_G2[part], len(ISO_G2[part]))

root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
# clang-format leaves the file alone: one constant a line keeps each readable and grep-able, and
# the tree must stay what this script writes.
head = ('/* %s -- generated by tools/pairing-vectors/gen_constants.py; do not edit.\n'
        ' * Field constants are in Montgomery form (R = 2^384 for Fp), limbs little-endian. */\n'
        '/* clang-format off */\n')
with open(os.path.join(root, 'src/pairing/constants.h'), 'w') as f:
    f.write(head % 'constants.h')
    f.write('#ifndef CLOISTER_PAIRING_CONSTANTS_H\n#define CLOISTER_PAIRING_CONSTANTS_H\n\n')
    f.write('#include <cloister/pairing.h>\n\n#include <stdint.h>\n\n')
    f.write('\n'.join(out_h))
    f.write('\n\n#endif\n')
with open(os.path.join(root, 'src/pairing/constants.c'), 'w') as f:
    f.write(head % 'constants.c')
    f.write('#include "pairing/constants.h"\n\n')
    f.write('\n'.join(out_c))
    f.write('\n')
