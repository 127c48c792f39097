package io.tianshu.gateway;

import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import org.junit.jupiter.api.Test;

/**
 * The gateway's packages form a tree of capabilities: a package that needs another's type
 * never also lends it one of its own. A cycle means two packages can only be understood,
 * changed and tested together, so it fails the build, naming the classes on each side.
 */
class PackageCyclesTest {

    /** Each package directly under {@code root}, with everything below it, is one slice. */
    private static ArchRule noCyclesUnder(String root) {
        return slices().matching(root + ".(*)..").should().beFreeOfCycles();
    }

    @Test
    void gatewayPackagesAreFreeOfCycles() {
        noCyclesUnder("io.tianshu.gateway").check(new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("io.tianshu.gateway"));
    }

    /** The rule is only worth its pass if it fails on a cycle: two test packages that use each other. */
    @Test
    void theRuleFailsOnAPackageCycle() {
        assertThatThrownBy(() -> noCyclesUnder("io.tianshu.cyclefixture")
                .check(new ClassFileImporter().importPackages("io.tianshu.cyclefixture")))
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining("Cycle detected: Slice left -> \n                Slice right -> \n                Slice left");
    }
}
