package io.tianshu.gateway.tools;

import static io.tianshu.gateway.error.ApiException.invalidRequest;

import io.tianshu.inference.v1.Generation;
import io.tianshu.inference.v1.Model;
import io.tianshu.inference.v1.ToolChoice;

/**
 * tool_choice 'auto' needs a model that can choose on its own: one whose ListModels entry
 * names a tool parser, which finds the calls in whatever it writes. 'none', 'required' and a
 * named function are served by every model ('required' and a name through structured output).
 */
public final class AutoToolChoice {

    private AutoToolChoice() {
    }

    /** @throws io.tianshu.gateway.error.ApiException 400 naming tool_choice, for a model without a tool parser */
    public static void check(Generation generation, Model model) {
        if (asksAuto(generation) && model.getToolParser().isEmpty()) {
            throw invalidRequest("Model '" + model.getId() + "' cannot choose tools on its own (tool_choice 'auto'"
                    + (generation.hasToolChoice() ? "" : ", implied when tools are given without tool_choice")
                    + "): name a function or use 'required', or configure a tool parser for the model.",
                    "tool_choice");
        }
    }

    /** Tools with tool_choice 'auto', or with none given, which means 'auto'. */
    static boolean asksAuto(Generation generation) {
        if (generation.getToolsCount() == 0) {
            return false;
        }
        ToolChoice choice = generation.getToolChoice();
        return !generation.hasToolChoice() || choice.getChoiceCase() == ToolChoice.ChoiceCase.MODE
                && choice.getMode() == ToolChoice.Mode.MODE_AUTO;
    }
}
