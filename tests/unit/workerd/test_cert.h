/*
 * A self-signed P-256 certificate for "localhost", valid an hour, for
 * workerd's TLS unit tests (test_tlsio, test_mconn). Asserts with cmocka:
 * include this after <cmocka.h>.
 */
#ifndef PARLEY_TEST_CERT_H
#define PARLEY_TEST_CERT_H

#include <openssl/evp.h>
#include <openssl/x509.h>

/* *xp and *pkp: the certificate and its key (the caller frees both). */
static inline void
test_cert_make(X509 **xp, EVP_PKEY **pkp)
{
	X509_NAME *name;
	EVP_PKEY *pk;
	X509 *x;

	assert_non_null(pk = EVP_EC_gen("P-256"));
	assert_non_null(x = X509_new());
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, pk);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"localhost", -1, -1, 0);
	X509_set_issuer_name(x, name);
	assert_true(X509_sign(x, pk, EVP_sha256()) > 0);
	*xp = x;
	*pkp = pk;
}

#endif
