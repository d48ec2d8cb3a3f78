# The R calls behind every value in tests/reference/test_*.py, and the export of the data
# sets to data/*.csv. Run from this folder: Rscript r_reference.R
# Values were computed with R 4.2.2 (Debian bookworm: r-base-core 4.2.2, survival 3.5-3,
# MASS 7.3-58.2, mice 3.15.0, lme4 1.1-31, nlme 3.1-162).
suppressPackageStartupMessages({
  library(survival); library(MASS); library(mice); library(lme4); library(nlme)
})
options(digits = 7, width = 120)
out <- function(x, name) write.csv(x, file.path("data", paste0(name, ".csv")), row.names = FALSE)
out(sleep, "sleep"); out(anorexia, "anorexia"); out(ToothGrowth, "ToothGrowth")
out(veteran, "veteran"); out(ovarian, "ovarian"); out(quine, "quine")
out(as.data.frame(Orthodont), "Orthodont"); out(as.data.frame(Oats), "Oats")
out(infert, "infert"); out(Insurance, "Insurance")

cat("== Welch, means\n")
print(t.test(extra ~ group, data = sleep))
print(t.test(sleep$extra[sleep$group == "1"])$conf.int)
print(t.test(sleep$extra[sleep$group == "2"])$conf.int)

cat("== p.adjust\n")
p <- c(0.010, 0.013, 0.014, 0.190, 0.350, 0.500, 0.630, 0.670, 0.750, 0.810)
for (m in p.adjust.methods) { cat(m, ""); cat(format(p.adjust(p, m), digits = 7), "\n") }
o <- order(p); hs <- numeric(10); hs[o] <- cummax(1 - (1 - p[o])^(10:1)); cat("holm-sidak", format(pmin(hs, 1), digits = 7), "\n")

cat("== ANCOVA (anorexia FT vs Cont)\n")
a <- droplevels(subset(anorexia, Treat != "CBT")); a$Treat <- relevel(a$Treat, "Cont")
fa <- lm(Postwt ~ Treat + Prewt, data = a); print(summary(fa)$coefficients); print(confint(fa))

cat("== interaction (ToothGrowth, numeric dose as a factor)\n")
print(anova(lm(len ~ supp + factor(dose), ToothGrowth), lm(len ~ supp * factor(dose), ToothGrowth)))

cat("== mixed (Orthodont, Oats nested)\n")
fo <- lmer(distance ~ Sex + age + (1 | Subject), data = Orthodont, REML = TRUE)
print(summary(fo)$coefficients)
oats <- droplevels(subset(as.data.frame(Oats), Variety != "Victory"))
fn <- lme(yield ~ Variety + nitro, random = ~ 1 | Block / Variety, data = oats)
print(summary(fn)$tTable)

cat("== mice pool (nhanes)\n")
imp <- mice(nhanes, m = 5, seed = 1, printFlag = FALSE)
fit <- with(imp, lm(chl ~ age + bmi))
print(sapply(fit$analyses, coef)["bmi", ], digits = 10)
print(sapply(fit$analyses, function(a) vcov(a)["bmi", "bmi"]), digits = 10)
print(summary(pool(fit), conf.int = TRUE), digits = 7)

cat("== logistic (infert)\n")
fi <- glm(case ~ spontaneous + induced + education, family = binomial, data = infert)
print(summary(fi)$coefficients); print(exp(confint.default(fi)))
infert$education <- relevel(infert$education, "6-11yrs")
print(summary(glm(case ~ spontaneous + induced + education, family = binomial, data = infert))$coefficients)

cat("== negative binomial (quine)\n")
fq <- glm.nb(Days ~ Sex + Eth + Age + Lrn, data = quine); print(summary(fq)$coefficients); print(fq$theta)
cat("== Poisson with offset (Insurance)\n")
ins <- droplevels(subset(Insurance, District %in% c("1", "4")))
fp <- glm(Claims ~ District + Age + offset(log(Holders)), family = poisson, data = ins)
print(summary(fp)$coefficients)
fpn <- glm.nb(Claims ~ District + Age + offset(log(Holders)), data = ins); print(summary(fpn)$coefficients); print(fpn$theta)

cat("== risk ratio (log-binomial glm = Katz interval; Physicians' Health Study)\n")
phs <- data.frame(arm = c("aspirin", "placebo"), mi = c(104, 189), n = c(11037, 11034))
phs$arm <- relevel(factor(phs$arm), "placebo")
fr <- glm(cbind(mi, n - mi) ~ arm, family = binomial(link = "log"), data = phs)
print(summary(fr)$coefficients); print(exp(confint.default(fr)))

cat("== survival (veteran, ovarian)\n")
print(survdiff(Surv(time, status) ~ trt, data = veteran))
fc <- coxph(Surv(time, status) ~ trt + karno + celltype, data = veteran); print(summary(fc)$conf.int); print(summary(fc)$coefficients)
print(cox.zph(fc)$table); print(cox.zph(coxph(Surv(time, status) ~ trt, data = veteran))$table)
print(cox.zph(coxph(Surv(futime, fustat) ~ rx + age, data = ovarian))$table)
km <- survfit(Surv(time, status) ~ trt, data = veteran)
print(summary(km, times = c(30, 100, 200)))
print(km, rmean = 200)

cat("== power (two-sided, both tails: strict = TRUE)\n")
print(power.t.test(n = 20, delta = 1, sd = 1, strict = TRUE))
print(power.t.test(power = 0.9, delta = 1, sd = 1, strict = TRUE))
print(power.t.test(n = 50, power = 0.8, sd = 2, sig.level = 0.025, strict = TRUE))
