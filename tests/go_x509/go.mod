module kms-toolkit/go_x509

go 1.19
